"""The transcript document: the one data model every stage fills in and every renderer reads.

The field names and meanings follow the project's JSON contract (``contract.md`` in the
shared project material beside this repository) (schema ``undertone.transcript/1``).
Times are seconds from the start of the recording; word indices are 0-based positions in
``Transcript.words``. The classes are pydantic models so that the JSON Schema that
``undertone schema`` prints is generated from the same definitions the code uses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

SCHEMA_ID = "undertone.transcript/1"
# pipeline.asr.backend when words come from a known transcript aligned to the audio, and
# pipeline.diarization.backend when that transcript also named the speakers.
ALIGNMENT_BACKEND = "pocketsphinx-alignment"
TRANSCRIPT_SPEAKERS = "transcript"

WordKind = Literal["word", "filler", "cutoff"]
PauseKind = Literal["micropause", "pause", "gap"]
AnnotationKind = Literal[
    "emphasis",
    "loud",
    "quiet",
    "fast",
    "slow",
    "pitch_up",
    "pitch_down",
    "rise",
    "fall",
    "level",
    "elongation",
    "latch",
    "laughter",
]


def _ms(value: float) -> float:
    """Times are stored at millisecond precision (the contract's resolution)."""
    return round(float(value), 3)


class _Record(BaseModel):
    # Fields with defaults are still always written, so the schema marks them required.
    model_config = ConfigDict(extra="allow", json_schema_serialization_defaults_required=True)


class Source(_Record):
    path: str
    sha256: str
    duration: float
    sample_rate: int
    channels: int


class AsrInfo(_Record):
    backend: str
    model: str
    language: str | None


class DiarizationInfo(_Record):
    backend: str
    model: str | None


class Pipeline(_Record):
    version: str
    profile: str
    asr: AsrInfo
    diarization: DiarizationInfo
    created: str = Field(description="ISO 8601 time the document was produced")
    config: dict[str, Any] = Field(description="The effective settings")
    notes: list[str] = Field(
        default_factory=list,
        description="Caveats a reader must see, e.g. the offline profile's lower accuracy",
    )
    fingerprint: str | None = Field(
        default=None,
        description="Hash of the recording, settings, version and input files that made this document "
        "(a re-run with the same finds it and has nothing to do)",
    )


class Speaker(_Record):
    id: str
    label: str
    role: str | None = None
    f0_median_hz: float | None = None
    intensity_median_db: float | None = None
    channel: int | None = Field(
        default=None,
        description="1-based channel of the recording this speaker was found on, when the recording "
        "has one microphone per person and was diarised by channel",
    )


class Word(_Record):
    i: int = Field(ge=0)
    text: str
    start: float
    end: float
    speaker: str | None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    kind: WordKind = "word"

    @field_serializer("start", "end")
    def _times(self, value: float) -> float:
        return _ms(value)


class Turn(_Record):
    speaker: str
    start: float
    end: float
    first_word: int = Field(ge=0)
    last_word: int = Field(ge=0)

    @field_serializer("start", "end")
    def _times(self, value: float) -> float:
        return _ms(value)


class Pause(_Record):
    start: float
    end: float
    duration: float
    kind: PauseKind
    speaker: str | None = Field(description="Speaker for pauses within a turn; null for gaps")
    after_word: int = Field(ge=0)
    before_word: int = Field(ge=0)

    @field_serializer("start", "end", "duration")
    def _times(self, value: float) -> float:
        return _ms(value)


class Overlap(_Record):
    start: float
    end: float
    speakers: list[str]

    @field_serializer("start", "end")
    def _times(self, value: float) -> float:
        return _ms(value)


class Annotation(_Record):
    kind: AnnotationKind
    start: float
    end: float
    first_word: int = Field(ge=0)
    last_word: int = Field(ge=0)
    value: float | None
    unit: str | None

    @field_serializer("start", "end")
    def _times(self, value: float) -> float:
        return _ms(value)


class Line(_Record):
    n: int = Field(ge=1, description="Exactly the number printed in the .txt")
    text: str
    speaker: str | None
    start: float | None
    end: float | None
    first_word: int | None
    last_word: int | None

    @field_serializer("start", "end")
    def _times(self, value: float | None) -> float | None:
        return None if value is None else _ms(value)


class Transcript(_Record):
    schema_: Literal["undertone.transcript/1"] = Field(default=SCHEMA_ID, alias="schema")
    source: Source
    pipeline: Pipeline
    speakers: list[Speaker]
    words: list[Word]
    turns: list[Turn]
    pauses: list[Pause]
    overlaps: list[Overlap]
    annotations: list[Annotation]
    lines: list[Line]

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, json_schema_serialization_defaults_required=True
    )

    def speaker_label(self, speaker_id: str | None) -> str:
        """The label a reader sees for a speaker id (the id itself if unknown)."""
        for speaker in self.speakers:
            if speaker.id == speaker_id:
                return speaker.label
        return speaker_id or "?"

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the transcript document (what ``undertone schema`` prints)."""
    schema = Transcript.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://undertone.invalid/schema/transcript-1.json"
    schema["title"] = "undertone transcript (undertone.transcript/1)"
    return schema
