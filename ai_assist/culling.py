"""Culling: from a shoot's photos to keep / maybe / reject, each with a score and plain reasons.

Three steps, each usable alone (the Django layer stores what they return):
1. `analyse_photo(...)` decodes a photo at reduced size and measures its signals (faces, eyes,
   sharpness, exposure, framing, a fingerprint). Signals round-trip through JSON.
2. `decide(signals)` turns signals into a decision by rules that say why.
3. `cull_shoot(...)` does both for a shoot, groups bursts and keeps the best frame of each, and
   lets a photographer's `Learner` (trained on their overrides) adjust the decisions.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import BinaryIO

import numpy as np
from PIL import Image

from ai_assist.vision import quality
from ai_assist.vision.faces import MESH_EYE_CORNERS, find_faces
from delivery import images

KEEP, MAYBE, REJECT = "keep", "maybe", "reject"
DECISIONS = (KEEP, MAYBE, REJECT)

# Sharpness (share of fine detail, weighed down when it runs in one direction only).
SOFT = 0.16  # below: maybe
BLURRED = 0.10  # below: reject
MOTION_ANISOTROPY = 0.45  # above, a blurred photo is called motion blur rather than missed focus
# Eyes: lid gap ÷ eye width from the iris model's eye contour (open ≈ 0.3, closed ≈ 0.08).
EYE_CLOSED = 0.15
# Face brightness (mean luma of the inner face, 0–255).
FACE_DARK, FACE_TOO_DARK = 100, 80
FACE_BRIGHT, FACE_TOO_BRIGHT = 205, 225
# Whole frame, when there is no face to judge by.
FRAME_TOO_DARK, FRAME_TOO_BRIGHT = 40, 200
HIGHLIGHTS_BACKGROUND = 0.2  # clipped share of the frame that makes a background "overexposed"
HIGHLIGHTS_TOO_MANY = 0.45
SHADOWS_CRUSHED = 0.35  # share of the frame clipped to black (a black backdrop is about 0.15)
# Framing.
CUT_OFF = 0.08  # share of the face's landmarks outside the frame that counts as cut off
TOP_CROP_ALLOWED = 0.15
TINY_FACE = 0.06  # face height ÷ frame height
# Bursts: frames this close in time and this similar are the same moment.
BURST_SECONDS = 2.0
BURST_SIMILARITY = 0.9
BURST_SIMILARITY_UNTIMED = 0.95
# Faces smaller than this share of the main face's area are bystanders: not judged for eyes.
SECONDARY_FACE_AREA = 0.3


@dataclass
class FaceSignals:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the frame
    score: float
    sharpness: float  # effective: fine detail weighed down by its anisotropy
    anisotropy: float
    brightness: float | None
    eyes: dict[str, float]  # "left"/"right" (the subject's own) → openness; {} if not judged
    cut_off: float  # share of the face box outside the frame

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


@dataclass
class PhotoSignals:
    name: str
    taken_at: str | None  # ISO 8601
    width: int  # analysed size (after reduced decode)
    height: int
    faces: list[FaceSignals]
    frame_sharpness: float
    frame_anisotropy: float
    brightness: float
    highlights: float
    shadows: float
    fingerprint: list[float]

    @property
    def main_face(self) -> FaceSignals | None:
        return self.faces[0] if self.faces else None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PhotoSignals:
        values = dict(data)
        values["faces"] = [
            FaceSignals(**{**face, "box": tuple(face["box"])}) for face in data["faces"]
        ]
        return cls(**values)


@dataclass
class RuleVerdict:
    """What the rules say of one photo, from its signals alone."""

    decision: str
    score: int  # 0–100, higher is better
    reasons: list[str] = field(default_factory=list)


@dataclass
class CullResult:
    name: str
    decision: str
    score: int
    reasons: list[str]
    signals: PhotoSignals
    burst: int | None = None  # bursts are numbered from 1 in shoot order
    duplicate_of: str | None = None
    rule_decision: str = ""  # what the rules said, before any learned adjustment


@dataclass
class ShootPhoto:
    """One photo to cull: a display name (e.g. IMG_0412), a path or bytes, and optionally the
    capture time when the file has no EXIF one (e.g. from the upload)."""

    name: str
    source: str | os.PathLike | bytes
    taken_at: datetime | None = None


# 1. Signals ----------------------------------------------------------------------------------


def analyse_photo(
    source: str | os.PathLike | bytes,
    *,
    name: str,
    kind: str = "",
    taken_at: datetime | None = None,
    long_edge: int = images.ANALYSIS_LONG_EDGE,
    max_pixels: int | None = None,
) -> PhotoSignals:
    """Decode a photo at reduced size and measure everything culling decides on.

    `kind` is the photo's type as delivery stored it; without it, the content tells. A photo
    that cannot be decoded, or has more than `max_pixels` (default: Pillow's limit), raises
    `delivery.images.ImageRejected`.
    """
    with _opened(source) as file:
        decoded = images.decode_for_analysis(
            file,
            kind or images.kind_of(file),
            max_pixels=max_pixels or Image.MAX_IMAGE_PIXELS,
            long_edge=long_edge,
        )
    return analyse_image(decoded.image, name=name, taken_at=decoded.taken_at or taken_at)


def _opened(source: str | os.PathLike | bytes) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def analyse_image(
    image: np.ndarray, *, name: str, taken_at: datetime | None = None
) -> PhotoSignals:
    """Measure the signals of an upright RGB uint8 image."""
    height, width = image.shape[:2]
    pil = Image.fromarray(image)
    small = quality.preview(pil)
    frame = quality.frame_gray(small)
    frame_sharp = quality.sharpness(frame)
    faces = [_face_signals(pil, face) for face in find_faces(pil, preview=small)]
    exposure = quality.exposure(frame)
    return PhotoSignals(
        name=name,
        taken_at=taken_at.isoformat() if taken_at else None,
        width=width,
        height=height,
        faces=faces,
        frame_sharpness=_effective(frame_sharp),
        frame_anisotropy=frame_sharp.anisotropy,
        brightness=exposure.mean,
        highlights=exposure.highlights,
        shadows=exposure.shadows,
        fingerprint=[round(float(v), 5) for v in quality.fingerprint(small)],
    )


def _effective(sharpness: quality.Sharpness) -> float:
    # Detail that survives in one direction only is a smear, not sharpness.
    return sharpness.fine * (1 - sharpness.anisotropy / 2)


def _face_signals(image: Image.Image, face) -> FaceSignals:
    width, height = image.size
    x0, y0, x1, y1 = face.box
    gray = quality.face_gray(image, face.box)
    sharp = quality.sharpness(gray) if gray is not None else quality.Sharpness(0, 0, 0)
    cut_off = _cut_off(face.landmarks, width, height)
    return FaceSignals(
        box=(x0 / width, y0 / height, x1 / width, y1 / height),
        score=face.score,
        sharpness=_effective(sharp),
        anisotropy=sharp.anisotropy,
        brightness=float(np.mean(gray)) if gray is not None else None,
        eyes=_eyes(face) if cut_off < CUT_OFF else {},
        cut_off=round(cut_off, 4),
    )


def _cut_off(landmarks: np.ndarray, width: int, height: int) -> float:
    """Return the share of the face mesh that falls outside the frame. A crop through the
    forehead is a classic headshot framing, so the top may take TOP_CROP_ALLOWED for free."""
    x, y = landmarks[:, 0], landmarks[:, 1]
    sides = float(np.mean((x < 0) | (x >= width) | (y >= height)))
    top = float(np.mean(y < 0))
    return max(sides, top - TOP_CROP_ALLOWED)


def _eyes(face) -> dict[str, float]:
    # A face turned far to one side hides one eye; its landmarks there are guesses, not evidence.
    widths = {
        name: float(np.linalg.norm(face.landmarks[a] - face.landmarks[b]))
        for name, (a, b) in MESH_EYE_CORNERS.items()
    }
    if min(widths.values()) < 0.5 * max(widths.values()) or min(widths.values()) < 6:
        return {}
    return {name: round(eye.openness, 4) for name, eye in face.eyes.items()}


# 2. Rules ------------------------------------------------------------------------------------


def decide(signals: PhotoSignals) -> RuleVerdict:
    """Return keep / maybe / reject with a score and the reasons, from the signals alone."""
    findings: list[tuple[str, str, int]] = []  # (severity, reason, penalty)
    main = signals.main_face
    if main is None:
        findings.append((MAYBE, "no face found", 15))
        findings += _sharpness_findings(signals.frame_sharpness, signals.frame_anisotropy, "photo")
        findings += _frame_exposure_findings(signals)
    else:
        findings += _face_findings(signals, main)
    severity = REJECT if any(f[0] == REJECT for f in findings) else KEEP
    if severity == KEEP and any(f[0] == MAYBE for f in findings):
        severity = MAYBE
    score = 100 - sum(f[2] for f in findings)
    score += round(20 * min(_sharpness_of(signals) / 0.3, 1.0)) - 20
    score = max(0, min(100, score))
    reasons = [f[1] for f in sorted(findings, key=lambda f: -f[2])]
    return RuleVerdict(severity, score, reasons)


def _sharpness_of(signals: PhotoSignals) -> float:
    main = signals.main_face
    return main.sharpness if main is not None else signals.frame_sharpness


def _sharpness_findings(value: float, anisotropy: float, what: str) -> list:
    if value >= SOFT:
        return []
    if value < BLURRED:
        reason = f"motion blur on the {what}" if anisotropy > MOTION_ANISOTROPY else None
        return [(REJECT, reason or f"{what} out of focus", 50)]
    return [(MAYBE, f"{what} slightly soft", 20)]


def _face_findings(signals: PhotoSignals, main: FaceSignals) -> list:
    findings = []
    if main.cut_off >= CUT_OFF:
        findings.append((REJECT, "face cut off by the frame", 45))
    elif main.box[3] - main.box[1] < TINY_FACE:
        findings.append((MAYBE, "face very small in the frame", 10))
    findings += _sharpness_findings(main.sharpness, main.anisotropy, "face")
    others = [f for f in signals.faces[1:] if f.area >= SECONDARY_FACE_AREA * main.area]
    findings += _eye_findings(main, "")
    for number, face in enumerate(others, start=2):
        findings += [
            (MAYBE, reason, 15) for _, reason, _ in _eye_findings(face, f" (face {number})")
        ]
    findings += _face_exposure_findings(signals, main)
    return findings


def _eye_findings(face: FaceSignals, suffix: str) -> list:
    closed = [name for name, value in face.eyes.items() if value < EYE_CLOSED]
    if len(closed) == 2:
        return [(REJECT, f"eyes closed{suffix}", 45)]
    if closed:
        return [(REJECT, f"{closed[0]} eye closed{suffix}", 40)]
    return []


def _face_exposure_findings(signals: PhotoSignals, main: FaceSignals) -> list:
    findings = []
    brightness = main.brightness if main.brightness is not None else signals.brightness
    if brightness < FACE_TOO_DARK:
        findings.append((REJECT, "underexposed: face too dark", 40))
    elif brightness < FACE_DARK:
        findings.append((MAYBE, "face a little dark", 15))
    elif brightness > FACE_TOO_BRIGHT:
        findings.append((REJECT, "overexposed: face washed out", 40))
    elif brightness > FACE_BRIGHT:
        findings.append((MAYBE, "face a little bright", 15))
    if signals.highlights > HIGHLIGHTS_BACKGROUND and brightness <= FACE_TOO_BRIGHT:
        findings.append((MAYBE, "overexposed background", 15))
    if signals.shadows > SHADOWS_CRUSHED and brightness >= FACE_TOO_DARK:
        findings.append((MAYBE, "crushed shadows", 15))
    return findings


def _frame_exposure_findings(signals: PhotoSignals) -> list:
    if signals.brightness < FRAME_TOO_DARK:
        return [(REJECT, "underexposed", 40)]
    if signals.brightness > FRAME_TOO_BRIGHT or signals.highlights > HIGHLIGHTS_TOO_MANY:
        return [(REJECT, "overexposed", 40)]
    if signals.highlights > HIGHLIGHTS_BACKGROUND:
        return [(MAYBE, "clipped highlights", 15)]
    if signals.shadows > SHADOWS_CRUSHED:
        return [(MAYBE, "crushed shadows", 15)]
    return []


# 3. A shoot: bursts, best frames, learned adjustments ----------------------------------------


def cull_shoot(photos: Iterable[ShootPhoto], *, learner: Learner | None = None) -> list[CullResult]:
    """Analyse and decide every photo of a shoot, in the order given."""
    signals = [analyse_photo(p.source, name=p.name, taken_at=p.taken_at) for p in photos]
    return cull_signals(signals, learner=learner)


def cull_signals(
    signals: Sequence[PhotoSignals], *, learner: Learner | None = None
) -> list[CullResult]:
    """Decide photos from stored signals: rules, then bursts, then the photographer's learner."""
    results = []
    for item in signals:
        verdict = decide(item)
        results.append(
            CullResult(item.name, verdict.decision, verdict.score, verdict.reasons, item)
        )
    for number, group in enumerate(find_bursts(signals), start=1):
        _mark_burst([results[i] for i in group], number)
    for result in results:
        result.rule_decision = result.decision
    if learner is not None and learner.active:
        for result in results:
            learner.adjust(result)
    return results


def find_bursts(signals: Sequence[PhotoSignals]) -> list[list[int]]:
    """Return groups (indices, in capture order) of near-identical frames taken moments apart.

    Frames join a burst when they were taken within BURST_SECONDS of the previous frame and look
    alike; without capture times, only frames next to each other and nearly identical do.
    """
    order = sorted(range(len(signals)), key=lambda i: (_time(signals[i]) or math.inf, i))
    groups: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and _same_moment(signals[current[-1]], signals[index]):
            current.append(index)
            continue
        if len(current) > 1:
            groups.append(current)
        current = [index]
    if len(current) > 1:
        groups.append(current)
    return groups


def _time(signals: PhotoSignals) -> float | None:
    return datetime.fromisoformat(signals.taken_at).timestamp() if signals.taken_at else None


def _same_moment(previous: PhotoSignals, current: PhotoSignals) -> bool:
    similarity = quality.similarity(
        np.asarray(previous.fingerprint), np.asarray(current.fingerprint)
    )
    t0, t1 = _time(previous), _time(current)
    if t0 is None or t1 is None:
        return similarity >= BURST_SIMILARITY_UNTIMED
    return abs(t1 - t0) <= BURST_SECONDS and similarity >= BURST_SIMILARITY


def _mark_burst(results: list[CullResult], number: int) -> None:
    best = max(results, key=_rank)
    for result in results:
        result.burst = number
        if result is best:
            continue
        result.duplicate_of = best.name
        why = _why_better(best.signals, result.signals)
        result.reasons.insert(0, f"duplicate of {best.name}, {why} there")
        result.decision = REJECT
        result.score = max(0, min(result.score, best.score - 1))


def _rank(result: CullResult) -> tuple:
    order = {KEEP: 2, MAYBE: 1, REJECT: 0}[result.decision]
    return (order, result.score, _sharpness_of(result.signals))


def _why_better(best: PhotoSignals, other: PhotoSignals) -> str:
    def eyes_open(s: PhotoSignals) -> bool:
        main = s.main_face
        return main is None or all(v >= EYE_CLOSED for v in main.eyes.values())

    if eyes_open(best) and not eyes_open(other):
        return "eyes open"
    if decide(other).decision == REJECT and decide(best).decision != REJECT:
        reasons = decide(other).reasons
        if reasons and "expos" in reasons[0]:
            return "better exposed"
    if _sharpness_of(best) > _sharpness_of(other) * 1.05:
        return "sharper"
    return "better overall"


# Learning from the photographer's overrides --------------------------------------------------

FEATURES = (
    "has_face",
    "sharpness",
    "frame_sharpness",
    "anisotropy",
    "eyes_open",
    "face_brightness",
    "brightness",
    "highlights",
    "shadows",
    "face_cut_off",
    "face_size",
    "faces",
    "duplicate",
    "rule_score",
    "rule_maybe",
    "rule_reject",
)
MIN_EXAMPLES = 20
HOLDOUT_SHARE = 0.25


def features(result: CullResult) -> np.ndarray:
    """Return the learner's numbers for a culled photo (its signals and what the rules said)."""
    s = result.signals
    main = s.main_face
    eyes = min(main.eyes.values()) if main is not None and main.eyes else 0.35
    brightness = main.brightness if main is not None and main.brightness is not None else None
    rule = result.rule_decision or result.decision
    return np.array(
        [
            float(main is not None),
            _sharpness_of(s) * 3,
            s.frame_sharpness * 3,
            main.anisotropy if main is not None else s.frame_anisotropy,
            eyes * 3,
            (brightness if brightness is not None else s.brightness) / 255,
            s.brightness / 255,
            s.highlights,
            s.shadows,
            main.cut_off if main is not None else 0.0,
            (main.box[3] - main.box[1]) if main is not None else 0.0,
            min(len(s.faces), 5) / 5,
            float(result.duplicate_of is not None),
            result.score / 100,
            float(rule == MAYBE),
            float(rule == REJECT),
        ],
        dtype=np.float64,
    )


@dataclass
class Learner:
    """A photographer's own culling taste: softmax regression from signals to keep/maybe/reject.

    Trained on (culled photo, the photographer's final decision) pairs; serialised as JSON.
    `agreement_before` / `agreement_after` are measured on held-out choices the model did not see:
    how often the rules alone, and the rules plus this model, matched the photographer.
    """

    weights: list[list[float]] = field(default_factory=list)  # classes × (features + 1)
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    examples: int = 0
    holdout: int = 0
    agreement_before: float | None = None
    agreement_after: float | None = None

    @property
    def active(self) -> bool:
        """Whether the model adjusts decisions: enough examples, and better than the rules on
        the held-out ones."""
        return (
            bool(self.weights)
            and self.examples >= MIN_EXAMPLES
            and self.agreement_after is not None
            and self.agreement_before is not None
            and self.agreement_after > self.agreement_before
        )

    @classmethod
    def train(cls, examples: Sequence[tuple[CullResult, str]], *, seed: int = 0) -> Learner:
        """Fit on (result as the rules culled it, photographer's decision); measure held-out
        agreement on a quarter of the examples, then refit on all of them."""
        x = np.array([features(result) for result, _ in examples]).reshape(-1, len(FEATURES))
        y = np.array([DECISIONS.index(choice) for _, choice in examples], dtype=int)
        rules = np.array([DECISIONS.index(r.rule_decision or r.decision) for r, _ in examples])
        learner = cls(examples=len(examples))
        if len(examples) >= MIN_EXAMPLES:
            order = np.random.default_rng(seed).permutation(len(examples))
            cut = max(1, round(len(examples) * HOLDOUT_SHARE))
            held, train = order[:cut], order[cut:]
            trial = cls._fit(x[train], y[train])
            learner.holdout = int(cut)
            learner.agreement_before = float(np.mean(rules[held] == y[held]))
            learner.agreement_after = float(np.mean(trial._classes(x[held]) == y[held]))
        if len(examples):
            fitted = cls._fit(x, y)
            learner.weights, learner.mean, learner.scale = (
                fitted.weights,
                fitted.mean,
                fitted.scale,
            )
        return learner

    @classmethod
    def _fit(cls, x: np.ndarray, y: np.ndarray, *, l2: float = 1e-2, steps: int = 400) -> Learner:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-6] = 1.0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        targets = np.eye(len(DECISIONS))[y]
        w = np.zeros((len(DECISIONS), z.shape[1]))
        for _ in range(steps):  # full-batch gradient descent: a few hundred rows, well conditioned
            p = _softmax(z @ w.T)
            grad = (p - targets).T @ z / len(z) + l2 * np.hstack([w[:, :-1], np.zeros((3, 1))])
            w -= 0.5 * grad
        return cls(weights=w.tolist(), mean=mean.tolist(), scale=scale.tolist())

    def _classes(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self._probabilities(x), axis=1)

    def _probabilities(self, x: np.ndarray) -> np.ndarray:
        z = np.hstack([(x - np.array(self.mean)) / np.array(self.scale), np.ones((len(x), 1))])
        return _softmax(z @ np.array(self.weights).T)

    def predict(self, result: CullResult) -> tuple[str, dict[str, float]]:
        """Return the decision this photographer would likely make, and its probabilities."""
        p = self._probabilities(features(result)[np.newaxis])[0]
        return DECISIONS[int(np.argmax(p))], dict(zip(DECISIONS, p.round(3).tolist(), strict=True))

    def adjust(self, result: CullResult) -> None:
        """Change `result`'s decision to the learned one, saying so in its reasons."""
        decision, probabilities = self.predict(result)
        if decision == result.decision:
            return
        result.reasons.append(
            f"{decision} rather than {result.decision}: you chose so for photos like this "
            f"(learned from {self.examples} of your decisions)"
        )
        result.decision = decision
        result.score = max(
            0, min(100, round(100 * (probabilities[KEEP] + probabilities[MAYBE] / 2)))
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Learner:
        return cls(**json.loads(text))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
