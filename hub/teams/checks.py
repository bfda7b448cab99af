"""Asking partners what they know, and what they answered (DESIGN.md section 17).

:func:`ask_checks` is the handler behind the message page's form and the API: one
check per partner asked, each with its working-time deadline, its question and the
child's and household's details sealed for that partner alone, written to
``hub.checks`` in one Kafka transaction (all asked, or none) keyed by the subject
key, with who asked and when. Only once Kafka committed is the local record written;
the check consumer (:mod:`hub.teams.checkconsumer`) writes it again from the topic,
idempotently, so a crash in between loses nothing. Each request is audited by event
``check_asked`` (check id, area, partner, who asked; no personal data).

:func:`check_views` is what the page and the API show: each check's status and, once
answered, the answer opened with the partner's check key for this area.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid4

import structlog
from pydantic import AwareDatetime, Field

from hub.checks.crypto import CheckKeys, request_record
from hub.checks.writer import CheckWriter
from hub.errors import DecryptionError, SchemaViolationError
from hub.sla import CheckDeadlines, SlaCalendar, check_due_by
from hub.teams.checkstore import CheckStore, StoredCheck
from schemas.answer import Answer
from schemas.checks import (
    AnswerCheck,
    AskChecks,
    CheckPartner,
    CheckPerson,
    CheckQuestion,
    CheckRequested,
    CheckResult,
    CheckStatus,
    Urgency,
)
from schemas.common import Area, SubjectRole
from schemas.envelope import Envelope, SubjectDetails

log = structlog.get_logger("hub.teams")

CHILD_ROLES = frozenset({SubjectRole.CHILD, SubjectRole.UNBORN_CHILD})


class Tailer(Protocol):
    """A background reader the app starts and stops."""

    async def start(self) -> None:
        """Start."""

    async def stop(self) -> None:
        """Stop."""


@dataclass
class TeamChecks:
    """What asking and showing checks needs, built by :mod:`hub.bootstrap.teams`."""

    store: CheckStore
    writer: CheckWriter
    keys: Mapping[CheckPartner, CheckKeys] = field(repr=False)
    deadlines: CheckDeadlines
    partitions: int
    """Partitions of ``hub.checks`` (each record goes to the one its MAC names)."""
    asking_areas: frozenset[Area] = frozenset({Area.MASH})
    consumer: Tailer | None = None
    """The check consumer (:class:`~hub.teams.checkconsumer.CheckConsumer`), if any."""

    async def start(self) -> None:
        """Start the writer, then the consumer."""
        await self.writer.start()
        if self.consumer is not None:
            await self.consumer.start()

    async def stop(self) -> None:
        """Stop the consumer, then the writer, and close the store."""
        try:
            if self.consumer is not None:
                await self.consumer.stop()
        finally:
            await self.writer.stop()
            self.store.close()


class CheckView(Answer):
    """One check asked about a message, as the asking area sees it."""

    check_id: UUID = Field(description="Id of the check.")
    partner: CheckPartner = Field(description="The partner asked.")
    urgency: Urgency = Field(description="red, amber or green.")
    asked_by: str = Field(description="Who asked.")
    asked_at: AwareDatetime = Field(description="When.")
    due_by: AwareDatetime = Field(description="The working-time deadline of the answer.")
    status: CheckStatus = Field(description="open, answered or overdue.")
    result: CheckResult | None = Field(None, description="information_found or nothing_known.")
    details: str | None = Field(None, description="What the partner knows.")
    answered_by: str | None = Field(None, description="Who answered.")
    answered_at: AwareDatetime | None = Field(None, description="When.")


class ChecksAsked(Answer):
    """The ``201`` answer: one check per partner asked."""

    checks: tuple[CheckView, ...] = Field(description="The checks, in the order asked.")


def question_for(envelope: Envelope, question: str) -> CheckQuestion:
    """The sealed part of a request: the question, the child and the household."""
    people = [
        CheckPerson(
            role=s.role,
            details=SubjectDetails.model_validate(
                {name: getattr(s, name) for name in SubjectDetails.model_fields}
            ),
        )
        for s in envelope.subjects
    ]
    child = next((p for p in people if p.role in CHILD_ROLES), None)
    household = tuple(p for p in people if p is not child)
    return CheckQuestion(question=question, child=child, household=household)


async def ask_checks(
    checks: TeamChecks,
    envelope: Envelope,
    area: Area,
    command: AskChecks,
    *,
    asked_by: str,
    calendar: SlaCalendar,
    clock: Callable[[], datetime],
) -> list[CheckRequested]:
    """Ask each partner once, in one transaction; return the requests written."""
    asked_at = clock()
    due = check_due_by(command.urgency.value, asked_at, checks.deadlines, calendar)
    content = question_for(envelope, command.question)
    requests, records = [], []
    for partner in command.partners:
        keys = checks.keys[partner]
        check_id = uuid4()
        request = CheckRequested(
            check_id=check_id,
            message_id=envelope.message_id,
            area=area,
            partner=partner,
            organisations=command.organisations,
            subject_key=envelope.subject_key,
            urgency=command.urgency,
            asked_by=asked_by,
            asked_at=asked_at,
            due_by=due,
            sealed=keys.seal_question(check_id, content),
        )
        requests.append(request)
        records.append(request_record(keys, request, checks.partitions))
    await checks.writer.write(records)
    for request in requests:
        checks.store.add_request(request)
        log.info(
            "check_asked",
            check_id=str(request.check_id),
            message_id=str(request.message_id),
            area=area.value,
            partner=request.partner.value,
            urgency=request.urgency.value,
            asked_by=asked_by,
        )
    return requests


def check_views(
    checks: TeamChecks, area: Area, message_id: UUID, now: datetime
) -> tuple[CheckView, ...]:
    """The checks asked about a message, answers opened for ``area``."""
    return tuple(_view(checks, c, now) for c in checks.store.for_message(area.value, message_id))


def _view(checks: TeamChecks, stored: StoredCheck, now: datetime) -> CheckView:
    view = CheckView(
        check_id=stored.check_id,
        partner=stored.partner,
        urgency=stored.urgency,
        asked_by=stored.asked_by,
        asked_at=stored.asked_at,
        due_by=stored.due_by,
        status=stored.status(now),
    )
    answer = _opened(checks.keys.get(stored.partner), stored)
    if answer is None:
        return view
    return view.model_copy(
        update={
            "result": answer.result,
            "details": answer.details,
            "answered_by": answer.answered_by,
            "answered_at": stored.answer.answered_at if stored.answer else None,
        }
    )


def _opened(keys: CheckKeys | None, stored: StoredCheck) -> AnswerCheck | None:
    """The answer in clear, or None (none yet, or unreadable: logged by error class)."""
    if stored.answer is None:
        return None
    if keys is None:
        log.error("check_answer_unreadable", check_id=str(stored.check_id), error_class="NoKey")
        return None
    try:
        return keys.open_answer(stored.answer)
    except (DecryptionError, SchemaViolationError) as exc:
        failure = type(exc).__name__
    log.error("check_answer_unreadable", check_id=str(stored.check_id), error_class=failure)
    return None
