"""The hub's one exception tree.

Every error the hub raises on purpose descends from :class:`HubError`. Third-party
exceptions (aiokafka, cryptography, pydantic, YAML) are translated at the adapter
boundary with ``raise ... from exc`` and never leak past it::

    HubError
    ├── ConfigurationError (also ValueError)   fails at start-up
    │   ├── TopicsFileError                    deploy/topics.yaml is invalid
    │   ├── PolicyError                        the routing policy file is invalid
    │   ├── PrincipalsFileError                deploy/principals.yaml is invalid
    │   └── KeyMaterialError                   a key file is missing or malformed
    ├── BrokerError                            the local broker cannot be managed
    │   └── PortInUseError                     its port belongs to another process
    ├── KafkaError                             talking to Kafka failed
    │   ├── KafkaUnavailableError  (retriable) the cluster cannot be reached now
    │   ├── KafkaAuthorizationError            the principal lacks an ACL
    │   └── ProducerFencedError                a newer instance owns this transactional id
    ├── BatchWorkerError       (retriable) a large batch's worker process stopped
    ├── AccountError (also ValueError)         a team account cannot be created as asked
    ├── ReplayRefusedError                     a dead letter must not be replayed (again)
    ├── OutcomeError                           a team outcome cannot be recorded
    │   ├── NotInQueueError                    no such message in the area's queue
    │   ├── AlreadyDecidedError                decided already; a decision is recorded once
    │   └── DecisionInProgressError            someone else is recording one right now
    ├── CheckError                             an agency check cannot be answered
    │   ├── NoSuchCheckError                   not an open check of this partner
    │   └── AlreadyAnsweredError               answered already; a check is answered once
    └── MessageError                           one message cannot be processed
        ├── PermanentMessageError              goes to hub.dlq, never retried
        │   ├── DecodeError                    bytes are not the expected encoding
        │   ├── SchemaViolationError           a field is missing or invalid
        │   ├── UnknownKindError               no contract for the message kind
        │   ├── SignatureError                 no, unknown or bad MAC or signature
        │   │   ├── RecordKeyError             Kafka key is not the record's subject key
        │   │   └── UnsealedContentError       clear content while encryption is on
        │   └── DecryptionError                ciphertext or wrapped key rejected
        └── TransientMessageError  (retriable) retried with back-off

Whether a message error is retried is decided by the class flag ``retriable``, never
by parsing the message text. A record refused as a :class:`SignatureError` (or a
subclass) is a trust failure: the monitor counts those dead letters and pages
(:data:`SIGNATURE_FAILURES`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ValidationError


class HubError(Exception):
    """Root of every error the hub raises on purpose."""

    retriable: ClassVar[bool] = False


class ConfigurationError(HubError, ValueError):
    """Settings, files or keys are wrong; the process must not start."""


class TopicsFileError(ConfigurationError):
    """The declarative topics file is invalid."""


class PolicyError(ConfigurationError):
    """The routing policy file is invalid."""


class PrincipalsFileError(ConfigurationError):
    """The declarative principals (Kafka users and ACLs) file is invalid."""


class KeyMaterialError(ConfigurationError):
    """A key or credential file is missing or malformed."""


class BrokerError(HubError):
    """The local development broker cannot be installed, started or stopped."""


class PortInUseError(BrokerError):
    """A port the local broker needs is held by another process."""


class KafkaError(HubError):
    """A Kafka operation failed."""


class KafkaUnavailableError(KafkaError):
    """The Kafka cluster cannot be reached or did not acknowledge in time."""

    retriable = True


class KafkaAuthorizationError(KafkaError):
    """The broker refused the operation for this principal."""


class BatchWorkerError(HubError):
    """A large batch's worker process stopped before it finished; nothing of it was kept."""

    retriable = True


class ProducerFencedError(KafkaError):
    """Another process started the same transactional id; this one must stop using it."""


class AccountError(HubError, ValueError):
    """A team account cannot be created as asked (invalid or taken username)."""


class ReplayRefusedError(HubError):
    """A dead letter cannot be replayed: replayed already, routed already, or no record."""


class OutcomeError(HubError):
    """An outcome cannot be recorded for this queue row."""


class NotInQueueError(OutcomeError):
    """No such message in this area's queue."""


class AlreadyDecidedError(OutcomeError):
    """The message was already decided; a decision is recorded once."""


class DecisionInProgressError(OutcomeError):
    """Someone else is recording a decision on this message right now."""


class CheckError(HubError):
    """An agency check cannot be answered."""


class NoSuchCheckError(CheckError):
    """No such check for this partner (another partner's checks are not there either)."""


class AlreadyAnsweredError(CheckError):
    """The check was answered already; a check is answered once."""


class MessageError(HubError):
    """One message cannot be processed."""


class PermanentMessageError(MessageError):
    """The message will never be processable; it is dead-lettered."""


class DecodeError(PermanentMessageError):
    """The bytes are not valid in the expected encoding."""


class SchemaViolationError(PermanentMessageError):
    """The message does not satisfy its schema; the text names the field."""


class UnknownKindError(PermanentMessageError):
    """The message kind has no contract in this hub."""


class SignatureError(PermanentMessageError):
    """The MAC or signature is missing, made with an unknown key, or does not verify."""


class RecordKeyError(SignatureError):
    """The record's Kafka key is missing or is not the subject key its value names."""


class UnsealedContentError(SignatureError):
    """A record carries content in clear where the hub requires it sealed."""


class DecryptionError(PermanentMessageError):
    """A ciphertext or a wrapped data key failed authentication."""


class TransientMessageError(MessageError):
    """Processing failed for a reason that may pass; retry with back-off."""

    retriable = True


SIGNATURE_FAILURES: frozenset[str] = frozenset(
    c.__name__ for c in (SignatureError, RecordKeyError, UnsealedContentError)
)
"""Dead-letter error classes that are trust failures (the signature-failure alert)."""


def first_problem(
    exc: ValidationError, *, whole: str = "value", detail: Literal["msg", "type"] = "msg"
) -> str:
    """The first error of a validation as ``where: what``, for a one-line refusal.

    ``where`` is the dotted path of the field, or ``whole`` when the value as a whole
    is refused; ``what`` is pydantic's message, or its error type where a message
    could quote what was sent (sealed content).
    """
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or whole
    return f"{where}: {first[detail]}"
