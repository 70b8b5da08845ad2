"""Style profiles learned from before/after pairs of real photos, and shoot consistency."""

import numpy as np
import pytest
from PIL import Image
from skimage import data

from ai_assist.style import (
    MIN_PAIRS,
    StyleError,
    StyleProfile,
    mean_delta_e,
    shoot_consistency,
    style_apply,
    style_learn,
)

FAST = {"steps": 120, "long_edge": 96}


def frames(count: int) -> list[np.ndarray]:
    """Distinct crops of scikit-image's real photos, 96 px wide."""
    rng = np.random.default_rng(3)
    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    out = []
    for i in range(count):
        source = sources[i % len(sources)]
        h, w = source.shape[:2]
        ch, cw = int(h * rng.uniform(0.5, 0.9)), int(w * rng.uniform(0.5, 0.9))
        y, x = rng.integers(0, h - ch), rng.integers(0, w - cw)
        crop = Image.fromarray(source[y : y + ch, x : x + cw])
        out.append(np.asarray(crop.resize((96, round(96 * ch / cw)))))
    return out


def warm_contrast(image: np.ndarray) -> np.ndarray:
    """A studio's look: brighter mid-tones, warmer, a little more contrast."""
    v = (image / 255) ** 0.8
    v = v + 0.15 * (v - 0.5) + np.array([0.04, 0.0, -0.05])
    return (np.clip(v, 0, 1) * 255).round().astype(np.uint8)


def pairs_of(befores, edit):
    return [(Image.fromarray(b), Image.fromarray(edit(b))) for b in befores]


@pytest.fixture(scope="module")
def learned():
    befores = frames(14)
    return style_learn(pairs_of(befores[:12], warm_contrast), **FAST), befores[12:]


def test_a_simple_look_from_12_pairs_beats_no_edit_on_held_out_pairs(learned):
    profile, unseen = learned
    assert profile.pairs + profile.holdout_pairs == 12
    assert profile.beats_no_edit
    assert profile.holdout_delta_e < profile.no_edit_delta_e / 3
    # and on photos it never saw at all
    for before in unseen:
        styled = np.asarray(style_apply(profile, Image.fromarray(before)))
        target = warm_contrast(before)
        assert mean_delta_e(styled, target) < mean_delta_e(before, target) / 3


@pytest.mark.parametrize(
    "edit",
    [
        lambda b: b,
        lambda b: np.clip(
            b + np.random.default_rng(int(b.sum())).normal(0, 12, b.shape), 0, 255
        ).astype(np.uint8),
    ],
    ids=["identical", "random noise"],
)
def test_pairs_that_teach_nothing_give_a_profile_that_is_not_offered(edit):
    profile = style_learn(pairs_of(frames(10), edit), **FAST)
    assert not profile.beats_no_edit
    assert profile.holdout_delta_e > profile.no_edit_delta_e - 0.5


def test_fewer_than_ten_pairs_are_refused():
    pairs = pairs_of(frames(MIN_PAIRS - 1), warm_contrast)
    with pytest.raises(StyleError, match="at least 10 pairs, got 9"):
        style_learn(pairs)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_apply_keeps_size_and_mode(learned, mode):
    profile, unseen = learned
    image = Image.fromarray(data.coffee()).resize((123, 77)).convert(mode)
    out = style_apply(profile, image)
    assert (out.size, out.mode) == ((123, 77), mode)
    if mode == "RGBA":
        assert out.getchannel("A").tobytes() == image.getchannel("A").tobytes()


def test_a_profile_round_trips_through_bytes(learned):
    profile, unseen = learned
    again = StyleProfile.from_bytes(profile.to_bytes())
    image = Image.fromarray(unseen[0])
    assert style_apply(again, image).tobytes() == style_apply(profile, image).tobytes()
    assert (again.pairs, again.holdout_delta_e) == (profile.pairs, profile.holdout_delta_e)


def test_the_onnx_path_and_the_torch_path_agree(learned):
    profile, unseen = learned
    image = Image.fromarray(data.astronaut()).resize((200, 200))
    onnx = np.asarray(style_apply(profile, image, engine="onnx")).astype(int)
    torch = np.asarray(style_apply(profile, image, engine="torch")).astype(int)
    assert np.abs(onnx - torch).max() <= 2
    assert not np.array_equal(onnx, np.asarray(image))  # the look was applied, not skipped


def test_learning_from_paths_reports_progress(tmp_path):
    befores = frames(10)
    paths = []
    for i, (before, after) in enumerate(pairs_of(befores, warm_contrast)):
        before.save(tmp_path / f"{i}.png")
        after.save(tmp_path / f"{i}-edited.png")
        paths.append((tmp_path / f"{i}.png", tmp_path / f"{i}-edited.png"))
    seen = []
    profile = style_learn(paths, progress=seen.append, **FAST)
    assert seen[0] == 0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert profile.beats_no_edit


def exposed(image: np.ndarray, stops: float, warmth: float) -> np.ndarray:
    v = (image / 255) ** 2.2 * 2.0**stops * np.array([1 + warmth, 1.0, 1 - warmth])
    return (np.clip(v, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)


def mid_grey(image: Image.Image) -> np.ndarray:
    v = (np.asarray(image) / 255) ** 2.2
    return np.median(v.reshape(-1, 3), axis=0)


def test_shoot_consistency_brings_a_shoot_to_one_exposure_and_white_balance():
    base = np.asarray(Image.fromarray(data.astronaut()).resize((160, 160)))
    settings = [(0.0, 0.0), (-0.8, 0.1), (0.6, -0.1), (0.3, 0.05), (-0.4, -0.05)]
    shoot = [Image.fromarray(exposed(base, s, w)) for s, w in settings]
    results = shoot_consistency(shoot)
    before = np.std([np.log(mid_grey(im)) for im in shoot], axis=0)
    after = np.std([np.log(mid_grey(r.image)) for r in results], axis=0)
    assert (after < before / 4).all()
    # measured per photo: the darkest frame was brightened, the brightest darkened
    stops = [r.stops for r in results]
    assert stops[1] == max(stops) and stops[2] == min(stops)
    assert stops[1] == pytest.approx(np.median([s for s, _ in settings]) - settings[1][0], abs=0.25)
    assert results[1].gains[0] < results[1].gains[2]  # the warm frame is cooled
    assert all(r.image.size == im.size for r, im in zip(results, shoot, strict=True))
