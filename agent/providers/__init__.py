"""LLM providers: each turns a conversation plus tool schemas into streamed text and tool calls."""
