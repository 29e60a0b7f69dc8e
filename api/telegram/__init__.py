"""Tying Telegram to a web account: deep links, and the chats tied to it."""
