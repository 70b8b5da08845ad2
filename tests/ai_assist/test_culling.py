from datetime import datetime, timedelta

import numpy as np
import pytest
from PIL import Image

from ai_assist.culling import (
    KEEP,
    MAYBE,
    REJECT,
    Learner,
    PhotoSignals,
    RuleVerdict,
    ShootPhoto,
    analyse_image,
    analyse_photo,
    cull_shoot,
    cull_signals,
    decide,
)
from ai_assist.vision.faces import find_faces
from delivery.images import ImageRejected
from tests.ai_assist import photos
from tests.delivery import corpus

START = datetime(2025, 6, 1, 14, 0, 0)


def cull(image: np.ndarray, name: str = "IMG_0001"):
    return decide(analyse_image(image, name=name))


def test_a_sharp_well_exposed_portrait_is_kept_without_complaint():
    decision = cull(photos.astronaut())

    assert decision.decision == KEEP
    assert decision.reasons == []
    assert decision.score >= 90


@pytest.mark.parametrize("sigma", [1.5, 3.0])
def test_a_defocused_portrait_is_rejected_as_face_out_of_focus(sigma):
    decision = cull(photos.defocus(photos.astronaut(), sigma))

    assert decision.decision == REJECT
    assert decision.reasons[0] == "face out of focus"


@pytest.mark.parametrize("angle", [0, 60])
def test_camera_shake_is_rejected_as_motion_blur_not_missed_focus(angle):
    decision = cull(photos.motion_blur(photos.astronaut(), 11, angle))

    assert decision.decision == REJECT
    assert decision.reasons[0] == "motion blur on the face"


def test_an_underexposed_portrait_is_rejected_for_the_dark_face():
    decision = cull(photos.exposed(photos.astronaut(), -3))

    assert decision.decision == REJECT
    assert "underexposed: face too dark" in decision.reasons


def test_an_overexposed_portrait_is_rejected_for_the_washed_out_face():
    decision = cull(photos.exposed(photos.astronaut(), 1.5))

    assert decision.decision == REJECT
    assert "overexposed: face washed out" in decision.reasons


def test_a_face_cut_by_the_frame_is_rejected_but_a_forehead_crop_is_fine():
    image = photos.astronaut()

    assert cull(image[:, 205:]).reasons[0] == "face cut off by the frame"
    assert cull(image[:, 205:]).decision == REJECT
    assert cull(image[90:]).decision == KEEP


# A camera held upright stores the pixels as the sensor saw them, and the turn that makes them
# upright as an orientation: 6 turns them a quarter clockwise, 8 a quarter anticlockwise.
AS_THE_SENSOR_SAW = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", [6, 8])
@pytest.mark.parametrize("kind", ["raw", "jpeg"])
def test_a_photo_taken_upright_is_culled_upright(kind, orientation):
    headshot = photos.astronaut()[90:, 40:424]  # portrait, cropped through the forehead
    stored = np.asarray(Image.fromarray(headshot).transpose(AS_THE_SENSOR_SAW[orientation]))
    if kind == "raw":
        height, width = stored.shape[:2]
        data = corpus.dng(2 * width, 2 * height, orientation=orientation, preview=stored)
    else:
        data = photos.jpeg(stored, orientation=orientation)

    signals = analyse_photo(data, name="IMG_0001", kind=kind)  # the kind, as delivery stores it

    upright = analyse_image(headshot, name="IMG_0001")
    assert len(signals.faces) == 1
    assert signals.main_face.box == pytest.approx(upright.main_face.box, abs=0.02)
    assert (signals.width, signals.height) == (384, 422)
    assert decide(signals) == RuleVerdict(KEEP, decide(upright).score, [])


def test_a_heic_photo_is_culled(tmp_path):
    path = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(photos.astronaut()).save(path, "HEIF", quality=85)

    signals = analyse_photo(path, name="IMG_0001")

    assert (signals.width, signals.height) == (512, 512)
    assert len(signals.faces) == 1 and decide(signals).decision == KEEP


def test_a_file_that_is_not_a_photo_is_refused_as_uploads_refuse_it():
    with pytest.raises(ImageRejected) as refused:
        analyse_photo(b"%PDF-1.7 not a photo", name="IMG_0001")

    assert refused.value.code == "unsupported_type"


def test_a_closed_eye_is_named():
    image = photos.astronaut()
    face = find_faces(image)[0]

    winking = cull(photos.close_eyes(image, face, which=("left",)))
    blinking = cull(photos.close_eyes(image, face))

    assert winking.decision == REJECT and winking.reasons == ["left eye closed"]
    assert blinking.decision == REJECT and blinking.reasons == ["eyes closed"]


def test_a_photo_without_a_face_is_judged_on_the_whole_frame():
    sharp = cull(photos.no_face())
    blurred = cull(photos.defocus(photos.no_face(), 3))

    assert sharp.decision == MAYBE and sharp.reasons == ["no face found"]
    assert blurred.decision == REJECT and "photo out of focus" in blurred.reasons


def test_crushed_shadows_are_named_but_a_black_backdrop_is_fine():
    image = photos.astronaut()
    crushed = np.where((image.mean(axis=2) < 100)[..., None], 0, image).astype(np.uint8)

    assert cull(image).reasons == []
    assert cull(crushed).decision == MAYBE and cull(crushed).reasons == ["crushed shadows"]


def test_a_burst_of_rejects_never_scores_below_zero():
    dark = photos.defocus(photos.exposed(photos.astronaut(), -3), 3)
    shoot = [
        ShootPhoto(f"IMG_000{i}", photos.jpeg(photos.shifted(dark, i, 0, seed=i), taken_at=at))
        for i, at in enumerate([START, START + timedelta(seconds=1)])
    ]

    results = cull_shoot(shoot)

    assert [r.decision for r in results] == [REJECT, REJECT]
    assert min(r.score for r in results) == 0 and results[1].duplicate_of == "IMG_0000"


def test_a_burst_keeps_its_sharpest_frame_and_marks_the_others_as_duplicates():
    image = photos.astronaut()
    frames = [
        photos.defocus(photos.shifted(image, 3, 1, seed=1), 1.2),
        photos.shifted(image, 1, 0, seed=2),
        photos.motion_blur(photos.shifted(image, -2, 2, seed=3), 5),
    ]
    shoot = [
        ShootPhoto(f"IMG_04{10 + i}", photos.jpeg(frame, taken_at=START), None)
        for i, frame in enumerate(frames)
    ]
    # Same place, but 10 minutes later: another moment, not part of the burst.
    shoot.append(ShootPhoto("IMG_0500", photos.jpeg(image, taken_at=START + timedelta(minutes=10))))
    shoot.append(ShootPhoto("IMG_0501", photos.jpeg(photos.no_face(), taken_at=START)))

    results = {r.name: r for r in cull_shoot(shoot)}

    assert results["IMG_0411"].decision == KEEP and results["IMG_0411"].duplicate_of is None
    for name in ("IMG_0410", "IMG_0412"):
        assert results[name].decision == REJECT
        assert results[name].duplicate_of == "IMG_0411"
        assert results[name].reasons[0] == "duplicate of IMG_0411, sharper there"
    assert results["IMG_0410"].burst == results["IMG_0411"].burst == results["IMG_0412"].burst
    assert results["IMG_0500"].burst is None and results["IMG_0501"].burst is None


def test_a_burst_prefers_the_frame_with_open_eyes():
    image = photos.astronaut()
    face = find_faces(image)[0]
    blink = photos.close_eyes(image, face)
    shoot = [
        ShootPhoto("IMG_0001", photos.jpeg(blink), START),
        ShootPhoto(
            "IMG_0002", photos.jpeg(photos.shifted(image, 2, 0)), START + timedelta(seconds=1)
        ),
    ]

    first, second = cull_shoot(shoot)

    assert second.decision == KEEP
    assert first.reasons[0] == "duplicate of IMG_0002, eyes open there"


def test_signals_survive_a_round_trip_through_json():
    import json

    signals = analyse_image(photos.astronaut(), name="IMG_0001", taken_at=START)
    again = PhotoSignals.from_dict(json.loads(json.dumps(signals.to_dict())))

    assert again == signals
    assert decide(again) == decide(signals)


def _variants():
    """Astronaut photos of graded quality, as signals: what a photographer would cull."""
    out = []
    for take in (1, 2):  # two takes: no photo is exactly another, held-out ones are unseen
        image = photos.shifted(photos.astronaut(), take, -take, seed=take)
        for i, sigma in enumerate([0, 0.6, 0.8, 1.0, 1.2]):
            for j, stops in enumerate([-1.6, -1.2, -0.8, 0, 0.4]):
                frame = photos.defocus(image, sigma) if sigma else image
                frame = photos.exposed(frame, stops) if stops else frame
                out.append(analyse_image(frame, name=f"IMG_{take}{i}{j}"))
    return out


@pytest.fixture(scope="module")
def variants():
    return _variants()


def test_the_learner_picks_up_a_photographers_taste_and_says_how_well(variants):
    # This photographer likes low-key portraits (keeps dark faces the rules doubt) but will not
    # keep a face that is any bit soft.
    def photographer(result):
        face = result.signals.main_face
        return KEEP if face.sharpness > 0.2 else REJECT

    results = cull_signals(variants)
    examples = [(r, photographer(r)) for r in results]

    learner = Learner.train(examples)

    assert learner.examples == 50 and learner.holdout > 0
    assert learner.agreement_after > learner.agreement_before
    assert learner.active
    restored = Learner.from_json(learner.to_json())
    adjusted = cull_signals(variants, learner=restored)
    agree = np.mean([r.decision == photographer(r) for r in adjusted])
    rules_agree = np.mean([r.rule_decision == photographer(r) for r in adjusted])
    assert agree > rules_agree
    changed = [r for r in adjusted if r.decision != r.rule_decision]
    assert changed and all("learned from 50 of your decisions" in r.reasons[-1] for r in changed)


def test_the_learner_waits_for_enough_decisions(variants):
    results = cull_signals(variants[:10])

    learner = Learner.train([(r, KEEP) for r in results])

    assert not learner.active
    assert [r.decision for r in cull_signals(variants[:10], learner=learner)] == [
        r.decision for r in results
    ]


def test_an_image_too_small_for_eye_landmarks_is_not_judged_on_its_eyes():
    tiny = np.asarray(Image.fromarray(photos.astronaut()).resize((128, 128)))

    signals = analyse_image(tiny, name="IMG_0001")

    assert signals.main_face is not None and signals.main_face.eyes == {}
