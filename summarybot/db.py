"""Model building blocks shared by every app."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from summarybot import crypto


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

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (credentials, headers) encrypted at rest as one Fernet token."""

    description = "JSON encrypted at rest with FIELD_ENCRYPTION_KEY"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        return json.loads(text) if text else {}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value if value is not None else {}

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == {} or value == "":
            return ""
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))
