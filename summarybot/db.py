"""Model building blocks shared by every app."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from summarybot import crypto

logger = logging.getLogger(__name__)


class UndecryptableText(str):
    """A stored secret no FIELD_ENCRYPTION_KEY opens: reads as "" (unset), saves back its ciphertext unchanged.

    Unset rather than an error, so a key removed too early costs the features that need that secret, not
    every command of the guild; kept rather than erased, so putting the old key back restores it.
    """

    def __new__(cls, ciphertext: str) -> UndecryptableText:
        obj = super().__new__(cls, "")
        obj.ciphertext = ciphertext
        obj.reported = False
        return obj

    def __getnewargs__(self) -> tuple[str]:
        return (self.ciphertext,)


class UndecryptableJSON(dict):
    """The JSON counterpart of UndecryptableText: an empty document that saves back its ciphertext."""

    def __init__(self, ciphertext: str) -> None:
        super().__init__()
        self.ciphertext = ciphertext
        self.reported = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.ciphertext,))


Undecryptable = (UndecryptableText, UndecryptableJSON)


class _EncryptedAttribute(DeferredAttribute):
    """Logs, once per loaded row, that a secret read as unset because it could not be decrypted.

    Here rather than in from_db_value, which does not know the row: the log line names model, field and
    primary key, never the value.
    """

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        value = super().__get__(instance, cls)
        if instance is not None and isinstance(value, Undecryptable) and not value.reported:
            value.reported = True
            logger.error(
                "%s.%s of pk=%s cannot be decrypted with FIELD_ENCRYPTION_KEY; treated as unset (put the old key "
                "back, or set the secret again)",
                instance._meta.label, self.field.name, instance.pk,
                extra={"model": instance._meta.label, "field": self.field.name, "pk": str(instance.pk)},
            )
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code only ever sees the plaintext.

    Not searchable or orderable by design: the database holds no plaintext to compare.
    An empty string stays empty so "no secret set" needs no ciphertext.
    """

    description = "Text encrypted at rest with FIELD_ENCRYPTION_KEY"
    descriptor_class = _EncryptedAttribute

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        try:
            return crypto.decrypt(value)
        except crypto.DecryptionFailed:
            return UndecryptableText(value)

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Undecryptable):
            return value.ciphertext
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (credentials, headers) encrypted at rest as one Fernet token."""

    description = "JSON encrypted at rest with FIELD_ENCRYPTION_KEY"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        if isinstance(text, UndecryptableText):
            return UndecryptableJSON(text.ciphertext)
        return json.loads(text) if text else {}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, Undecryptable):
            return value
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value if value is not None else {}

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Undecryptable):
            return value.ciphertext
        if value is None or value == {} or value == "":
            return ""
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))
