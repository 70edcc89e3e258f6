"""libespeak-ng's synthesis events for one text, on a fresh engine (run as a child process).

libespeak-ng keeps state between syntheses in one process: the same text read after other
texts (another speed, SSML prosody) gets word events tens of milliseconds apart from a fresh
read. The ``espeak-ng`` command, which made the benchmark audio, starts a fresh engine for every
piece, so the events that describe that audio must come from a fresh engine too: this script is
started once per piece (standard library only, so it starts fast).

Input (stdin): JSON ``{text, voice, pitch, speed, amplitude, ssml}``. Output (stdout): JSON
``{rate, events: [[type, audio_ms, text_position, phoneme_id], ...], samples: base64 int16}``.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import json
import sys

AUDIO_OUTPUT_SYNCHRONOUS = 2
OPTION_PHONEME_EVENTS = 1
POS_CHARACTER = 1
ESPEAK_SSML = 0x10
RATE, VOLUME, PITCH = 1, 2, 3  # espeak_PARAMETER


class Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


def synthesise(text: str, voice: str, pitch: int, speed: int, amplitude: int, ssml: bool) -> dict:
    lib = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
    events: list[list] = []
    chunks: list[bytes] = []

    def on_synth(wav, n, event_list):
        if n > 0:
            chunks.append(ctypes.string_at(wav, n * 2))
        i = 0
        while event_list[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            e = event_list[i]
            events.append([e.type, e.audio_position, e.text_position,
                           bytes(e.id).rstrip(b"\0").decode("latin-1")])
            i += 1
        return 0

    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                ctypes.POINTER(Event))(on_synth)
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, OPTION_PHONEME_EVENTS)
    if rate <= 0:
        raise RuntimeError("libespeak-ng failed to initialise")
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_SetVoiceByName(voice.encode())
    lib.espeak_SetParameter(RATE, int(speed), 0)
    lib.espeak_SetParameter(VOLUME, int(amplitude), 0)
    lib.espeak_SetParameter(PITCH, int(pitch), 0)
    data = text.encode() + b"\0"
    lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_SSML if ssml else 0, None, None)
    return {"rate": rate, "events": events, "samples": base64.b64encode(b"".join(chunks)).decode()}


if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump(synthesise(**request), sys.stdout)
