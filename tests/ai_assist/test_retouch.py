"""Skin retouch on a real portrait: spots healed, texture, tone and geometry kept."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter
from skimage.color import deltaE_ciede2000, rgb2lab

from ai_assist.retouch import DEFAULT_STRENGTH, skin_retouch
from ai_assist.vision.faces import find_faces, mesh_again
from ai_assist.vision.skin import LEFT_EYE, LIPS, RIGHT_EYE, skin_mask
from tests.ai_assist import photos

# Places well inside the skin of the astronaut's face, as mesh points (a spot between two):
# a cheek, the other cheek, the chin.
SPOT_LANDMARKS = ((50, 50), (266, 266), (199, 200))


@pytest.fixture(scope="module")
def portrait():
    image = photos.astronaut()
    landmarks = find_faces(image)[0].landmarks
    centres = [tuple((landmarks[a] + landmarks[b]) / 2) for a, b in SPOT_LANDMARKS]
    spotted = photos.add_spots(image, centres)
    retouched, figures = skin_retouch(spotted)
    return {
        "clean": image,
        "landmarks": landmarks,
        "centres": centres,
        "spotted": spotted,
        "retouched": np.asarray(retouched),
        "figures": figures,
    }


def _polygon_mask(shape, landmarks, outline) -> np.ndarray:
    canvas = Image.new("1", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in landmarks[list(outline)]], fill=1)
    return np.array(canvas, dtype=bool)


def test_spots_are_healed(portrait):
    for centre in portrait["centres"]:
        before = photos.spot_contrast(portrait["spotted"], centre)
        after = photos.spot_contrast(portrait["retouched"], centre)
        clean = photos.spot_contrast(portrait["clean"], centre)
        assert before > 10
        assert after < before * 0.35, (centre, before, after)
        assert after < clean + 4
    assert portrait["figures"].spots_healed >= len(portrait["centres"])


def test_texture_and_tone_are_kept(portrait):
    figures = portrait["figures"]
    assert figures.faces == 1
    assert figures.strength == DEFAULT_STRENGTH
    assert figures.texture_kept >= 0.7
    assert figures.skin_delta_e < 2
    # The same check measured here, with scikit-image's CIEDE2000, on the clean portrait.
    clean = portrait["clean"]
    retouched, own = skin_retouch(clean)
    skin = skin_mask(clean, portrait["landmarks"]) > 0.5
    delta = deltaE_ciede2000(rgb2lab(clean[skin]), rgb2lab(np.asarray(retouched)[skin]))
    assert 0 < delta.mean() < 2
    assert delta.mean() == pytest.approx(own.skin_delta_e, abs=0.05)
    assert own.texture_kept >= 0.7


def test_the_face_does_not_move(portrait):
    face = find_faces(portrait["spotted"])[0]
    after = find_faces(portrait["retouched"])[0].landmarks
    assert np.abs(after - face.landmarks).max() < 1.0
    # The mesh alone, on the same crop as before: what the pixels moved.
    again = mesh_again(portrait["retouched"], face)
    assert np.abs(again - mesh_again(portrait["spotted"], face)).max() < 0.5
    assert np.abs(mesh_again(portrait["spotted"], face) - face.landmarks).max() < 1.0


def test_pixels_outside_the_skin_are_unchanged(portrait):
    spotted, retouched, landmarks = (
        portrait["spotted"],
        portrait["retouched"],
        portrait["landmarks"],
    )
    changed = np.any(spotted != retouched, axis=-1)
    assert changed.sum() > 1000
    for outline in (LEFT_EYE, RIGHT_EYE, LIPS):
        assert not changed[_polygon_mask(spotted.shape, landmarks, outline)].any()
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    face = np.zeros(changed.shape, dtype=bool)
    face[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1] = True
    assert not changed[~face].any()  # background, hair, suit
    assert not changed[skin_mask(spotted, landmarks) == 0].any()


def test_strength_zero_returns_the_image_unchanged(portrait):
    image, figures = skin_retouch(portrait["spotted"], 0)
    assert np.array_equal(np.asarray(image), portrait["spotted"])
    assert figures.spots_healed == 0


def test_a_photo_without_a_face_is_unchanged():
    coffee = photos.no_face()
    image, figures = skin_retouch(Image.fromarray(coffee))
    assert np.array_equal(np.asarray(image), coffee)
    assert figures.to_dict() == {
        "strength": DEFAULT_STRENGTH,
        "faces": 0,
        "skin_delta_e": None,
        "texture_kept": None,
        "spots_healed": 0,
    }


def test_more_strength_smooths_more(portrait):
    clean = portrait["clean"]
    skin = skin_mask(clean, portrait["landmarks"]) > 0.5

    def blotchiness(image) -> float:
        # Tone variation between pore size and feature size: what smoothing evens out.
        gray = Image.fromarray(np.asarray(image)).convert("L")
        fine = np.asarray(gray.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64)
        coarse = np.asarray(gray.filter(ImageFilter.GaussianBlur(5)), dtype=np.float64)
        return float((fine - coarse)[skin].std())

    levels = [blotchiness(clean)]
    for strength in (25, 60, 100):
        levels.append(blotchiness(skin_retouch(clean, strength)[0]))
    assert levels == sorted(levels, reverse=True)
    assert levels[-1] < levels[0] * 0.9


def test_a_large_photo_is_retouched_at_a_bounded_size(portrait):
    # 6× the portrait: a face about 600 px wide, worked on at WORK_FACE_WIDTH and pasted back.
    big = np.asarray(Image.fromarray(portrait["spotted"]).resize((3072, 3072), Image.BICUBIC))
    retouched, figures = skin_retouch(big)
    out = np.asarray(retouched)
    assert figures.faces == 1 and figures.spots_healed >= len(portrait["centres"])
    assert figures.texture_kept >= 0.7 and figures.skin_delta_e < 2
    for x, y in portrait["centres"]:
        centre, radius = (x * 6 + 2.5, y * 6 + 2.5), 1.8 * 6
        before = photos.spot_contrast(big, centre, radius)
        assert photos.spot_contrast(out, centre, radius) < 0.35 * before
    changed = np.any(big != out, axis=-1)
    assert changed.any()
    assert not changed[:, :900].any() and not changed[2100:].any()  # background and suit


def test_strength_outside_0_to_100_is_refused(portrait):
    with pytest.raises(ValueError):
        skin_retouch(portrait["spotted"], 101)
