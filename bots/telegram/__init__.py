"""The Telegram bot: the studio's agent, credits and jobs in a chat (python-telegram-bot v22).

Run `skyie bot` to poll (local use), or set SKYIE_TELEGRAM_WEBHOOK_URL and `skyie serve` takes
Telegram's webhook. Everything a person does here goes through the same agent loop and tools as
the web chat; this package only turns chat updates into those calls and their results back
into messages.
"""
