"""The chat app: conversations, messages and citations; the assistant agent; text chat."""
