"""Mail backends that fail on purpose, for the sending tests."""

from __future__ import annotations

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend


class SimulatedKill(BaseException):
    """Stands for the worker process dying: no ``except Exception`` handler runs."""


class FlakyBackend(EmailBackend):
    """locmem, but raises ``error`` once ``fail_after`` messages are in the outbox, or for some recipients."""

    fail_after: int | None = None
    error: BaseException | None = None
    refuse: dict[str, BaseException] = {}

    def send_messages(self, messages):
        for message in messages:
            for address in message.to:
                if address in FlakyBackend.refuse:
                    raise FlakyBackend.refuse[address]
            if FlakyBackend.fail_after is not None and len(mail.outbox) >= FlakyBackend.fail_after:
                raise FlakyBackend.error
            super().send_messages([message])
        return len(messages)

    @classmethod
    def reset(cls):
        cls.fail_after = None
        cls.error = None
        cls.refuse = {}
