"""The e-mail outbox: messages queued with the change that caused them, sent later with retries."""
