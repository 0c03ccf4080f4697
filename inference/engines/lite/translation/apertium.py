"""Apertium (Debian's `apertium` and its pair packages, GPL-3.0): rule-based translation in a separate,
long-lived process per pair, so GPL code never loads into the engine and no sentence pays the
~270 ms process start.

The process is the pair's pipeline of programs in null-flush mode (the mode file as
`apertium-wblank-mode -z` writes it): each text ends with a NUL, and its translation comes back ended
by a NUL. The `apertium` script itself cannot do this: its text deformatter drops the NULs, and its
word-blank stages hold output back until the input ends. So the text goes in without deformatter:
the characters Apertium's stream format reserves are escaped here, and unescaped on the way back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pycountry

from inference.engines.lite.translation.base import TranslationFailed, Translator

log = logging.getLogger("inference.engines.lite.translation")

MODES_DIR = Path("/usr/share/apertium/modes")
TRANSLATE_TIMEOUT_SECONDS = 10.0  # a sentence takes milliseconds once the process runs; its start ~0.3 s
MAX_TEXT_CHARS = 2000
_RESERVED = re.compile(r"([\\\[\]^$/@<>{}*#])")
_ESCAPED = re.compile(r"\\(.)")


WORD_BLANK_STAGES = re.compile(r"\|\s*apertium-wblank-(attach|detach)\s*")
UNKNOWN_WORDS_UNMARKED = "-n"  # the generator's option: unknown words come out as they are, without `*`


def apertium_translators() -> list[ApertiumTranslator]:
    """A translator for every installed Apertium pair whose two languages have ISO 639-3 codes
    (regional variants such as `spa-eng_US` and helper modes are left out)."""
    tool = shutil.which("apertium-wblank-mode")
    if tool is None or not MODES_DIR.is_dir():
        return []
    translators = []
    for mode_file in sorted(MODES_DIR.glob("*.mode")):
        mode = mode_file.stem
        parts = mode.split("-")
        if len(parts) != 2 or "_" in mode:
            continue
        source, target = (_iso3(part) for part in parts)
        if source and target and source != target:
            pipeline = subprocess.run([tool, "-z", str(mode_file)], capture_output=True, text=True, check=True).stdout
            translators.append(ApertiumTranslator(WORD_BLANK_STAGES.sub("", pipeline).strip(), mode, source, target))
    return translators


def _iso3(code: str) -> str | None:
    language = pycountry.languages.get(alpha_2=code) if len(code) == 2 else pycountry.languages.get(alpha_3=code)
    return getattr(language, "alpha_3", None)


class ApertiumTranslator(Translator):
    """One Apertium mode in its own process, started on first use and again after a crash."""

    kind = "apertium"

    def __init__(self, pipeline: str, mode: str, source: str, target: str) -> None:
        self._pipeline = pipeline  # a shell pipeline whose $1 is the generator's option, $2 the tagger's
        self.mode = mode
        self.source = source
        self.target = target
        self.label = f"Apertium {mode}"
        self._process: asyncio.subprocess.Process | None = None
        self._lock: asyncio.Lock | None = None  # made in the event loop that uses it
        self._pending = b""

    @property
    def pid(self) -> int | None:
        """The running process's id (None before the first translation)."""
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    async def translate(self, text: str) -> str:
        text = " ".join(text.split())[:MAX_TEXT_CHARS]
        if not text:
            return ""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one text at a time through the pipe: the answers come back in order
            try:
                return await asyncio.wait_for(self._round_trip(text), TRANSLATE_TIMEOUT_SECONDS)
            except (OSError, EOFError, TimeoutError) as exc:
                self._stop()
                raise TranslationFailed(f"{self.label} failed ({type(exc).__name__}: {exc}); it restarts "
                                        "with the next sentence") from exc

    async def _round_trip(self, text: str) -> str:
        process = await self._running()
        assert process.stdin is not None and process.stdout is not None
        # The newline ends the last sentence for the tagger; without it the last word is misread.
        process.stdin.write(_RESERVED.sub(r"\\\1", text).encode() + b"\n\0")
        await process.stdin.drain()
        while b"\0" not in self._pending.lstrip(b"\0"):
            chunk = await process.stdout.read(4096)
            if not chunk:
                raise EOFError(f"the process ended (exit status {process.returncode})")
            self._pending += chunk
        answer, _, self._pending = self._pending.lstrip(b"\0").partition(b"\0")
        return _ESCAPED.sub(r"\1", answer.decode(errors="replace")).strip()

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is not None:
            # It crashed between two texts: report it like a crash during one (the voices do the same);
            # the next text starts a fresh process.
            raise EOFError(f"the process had ended (exit status {self._process.returncode})")
        if self._process is None:
            self._pending = b""
            self._process = await asyncio.create_subprocess_exec(
                "bash", "-c", self._pipeline, "apertium", UNKNOWN_WORDS_UNMARKED, "",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True)  # its pipeline of programs is one process group, ended together
            log.info("apertium started", extra={"mode": self.mode, "pid": self._process.pid})
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            _kill_group(process.pid)

    def close(self) -> None:
        self._stop()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
