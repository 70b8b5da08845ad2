"""Style profiles: a studio's colour and tone look, learned from its own before/after pairs.

The model is an image-adaptive 3D LUT (Zeng et al., "Learning Image-adaptive 3D Lookup Tables",
TPAMI 2020): a few basis 33³ LUTs, blended per photo by weights that a tiny CNN predicts from a
64² thumbnail. It trains with torch on the CPU at a reduced size. Applying it needs no torch: the
CNN runs in ONNX Runtime (CUDA when present), the blended LUT in Pillow's `Color3DLUT` at full size.

    profile = style_learn(pairs)            # [(before, after), ...] Pillow images or paths
    if profile.beats_no_edit:
        edited = style_apply(profile, image)

`shoot_consistency` brings one shoot's photos to a common exposure and white balance first.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from ai_assist.inference import onnx_writer
from ai_assist.inference.runtime import onnx_session
from ai_assist.vision.colour import delta_e_2000, srgb_to_lab

MIN_PAIRS = 10
LUT_SIZE = 33
THUMBNAIL = 64
CHANNELS = (8, 16, 32, 32)  # the CNN's stride-2 convolutions: 64² → 4²
FORMAT_VERSION = 1
BATCH = 12  # photos per training step

Source = Image.Image | str | os.PathLike


class StyleError(ValueError):
    """The pairs cannot teach a profile (too few, unreadable, or sizes that do not match)."""


@dataclass(eq=False)
class StyleProfile:
    luts: np.ndarray  # (K, 33, 33, 33, 3) float32, [blue, green, red] as Pillow's table reads
    cnn: dict[str, np.ndarray]  # the weight predictor's parameters, for the torch path
    cnn_onnx: bytes  # the same predictor for ONNX Runtime: thumbnail (1, 3, 64, 64) → (1, K)
    pairs: int  # pairs it learned from
    holdout_pairs: int
    holdout_delta_e: float  # mean CIEDE2000 to the studio's edits on the held-out pairs
    no_edit_delta_e: float  # the same for the unedited photos

    @property
    def beats_no_edit(self) -> bool:
        """Whether the profile comes clearly closer to the studio's edits than no edit at all.

        A tenth better and half a ΔE unit (below a just-noticeable difference): pairs that teach
        nothing (noise, no edit) land within chance of "no edit", never that far below it.
        """
        gain = self.no_edit_delta_e - self.holdout_delta_e
        return gain >= 0.5 and gain >= 0.1 * self.no_edit_delta_e

    def to_bytes(self) -> bytes:
        """Serialise as an npz archive (no pickles), the ONNX model inside."""
        out = io.BytesIO()
        meta = [self.pairs, self.holdout_pairs, self.holdout_delta_e, self.no_edit_delta_e]
        np.savez_compressed(
            out,
            version=np.array(FORMAT_VERSION),
            luts=self.luts,
            meta=np.array(meta, dtype=np.float64),
            cnn_onnx=np.frombuffer(self.cnn_onnx, dtype=np.uint8),
            **{f"cnn/{name}": value for name, value in self.cnn.items()},
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> StyleProfile:
        """Read a profile that `to_bytes` wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if int(archive["version"]) != FORMAT_VERSION:
                raise StyleError(f"style profile format {int(archive['version'])} is not known")
            pairs, holdout_pairs, holdout_de, no_edit_de = archive["meta"].tolist()
            return cls(
                luts=archive["luts"],
                cnn={k[4:]: archive[k] for k in archive.files if k.startswith("cnn/")},
                cnn_onnx=archive["cnn_onnx"].tobytes(),
                pairs=int(pairs),
                holdout_pairs=int(holdout_pairs),
                holdout_delta_e=holdout_de,
                no_edit_delta_e=no_edit_de,
            )


# --- applying -------------------------------------------------------------------------------


def style_apply(profile: StyleProfile, image: Image.Image, *, engine: str = "onnx") -> Image.Image:
    """Return `image` in the profile's look, same size and mode.

    `engine="onnx"` (the served path) predicts the blend with ONNX Runtime and applies the one
    blended LUT with Pillow; `engine="torch"` does both in torch (for checking, and training).
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if engine == "onnx":
        weights = _session(profile.cnn_onnx).run(None, {"thumbnail": _thumbnail(rgb)[None]})[0][0]
        out = rgb.filter(_pillow_lut(blended_lut(profile, weights)))
    elif engine == "torch":
        out = _torch_apply(profile, rgb)
    else:
        raise ValueError(f"unknown engine {engine!r}: onnx or torch")
    if image.mode in ("RGBA", "LA", "PA"):
        out.putalpha(image.getchannel("A"))
    return out if out.mode == image.mode else out.convert(image.mode)


def blended_lut(profile: StyleProfile, weights: np.ndarray) -> np.ndarray:
    """Return the one 33³ LUT (b, g, r, 3) that the predicted `weights` make for a photo."""
    return np.tensordot(np.asarray(weights, np.float32), profile.luts, axes=1)


def _pillow_lut(lut: np.ndarray) -> ImageFilter.Color3DLUT:
    table = np.clip(lut, 0.0, 1.0).reshape(-1)  # red varies fastest, as Pillow wants it
    return ImageFilter.Color3DLUT(LUT_SIZE, table, channels=3)


def _thumbnail(rgb: Image.Image) -> np.ndarray:
    small = rgb.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32).transpose(2, 0, 1) / 255.0


@functools.lru_cache(maxsize=8)
def _session(model: bytes):
    # One session per profile and process, as every other model: never one per photo.
    return onnx_session(model, name="style profile")


def _torch_apply(profile: StyleProfile, rgb: Image.Image) -> Image.Image:
    import torch

    net = _WeightNet.build(len(profile.luts))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in profile.cnn.items()})
    net.eval()
    luts = torch.from_numpy(profile.luts).permute(0, 4, 1, 2, 3)  # (K, 3, b, g, r)
    pixels = torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).reshape(1, -1, 3)
    with torch.no_grad():
        weights = net(torch.from_numpy(_thumbnail(rgb))[None])
        # Clipped once blended, as the LUT Pillow receives is.
        blended = torch.einsum("bk,kcdhw->bcdhw", weights, luts).clamp(0, 1)
        out = _lookup(blended, torch.ones(1, 1), pixels)[0]
    array = (out.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return Image.fromarray(array.reshape(rgb.height, rgb.width, 3))


# --- learning -------------------------------------------------------------------------------


@dataclass
class _Pairs:
    before: list[np.ndarray]  # uint8 (h, w, 3) at the training size
    after: list[np.ndarray]


def style_learn(
    pairs: Sequence[tuple[Source, Source]],
    *,
    holdout: float = 0.2,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    luts: int = 3,
    adaptive: bool = True,
    steps: int = 600,
    long_edge: int = 320,
) -> StyleProfile:
    """Learn a profile from (before, after) pairs, already matched: at least `MIN_PAIRS`.

    A `holdout` share of the pairs (at least two) is kept out of training and scores the profile.
    `adaptive=False` learns one global LUT (the CNN frozen to a constant blend). `progress`
    receives the share done, 0 to 1. Training runs at `long_edge` pixels.
    """
    if len(pairs) < MIN_PAIRS:
        raise StyleError(f"a style profile needs at least {MIN_PAIRS} pairs, got {len(pairs)}")
    data = _Pairs([], [])
    for before, after in pairs:
        b, a = _load(before, long_edge), _load(after, long_edge)
        if b.size != a.size:
            a = a.resize(b.size, Image.Resampling.BILINEAR)  # an edit exported at another size
        data.before.append(np.asarray(b))
        data.after.append(np.asarray(a))
    order = np.random.default_rng(seed).permutation(len(pairs))
    held = max(2, round(holdout * len(pairs)))
    train, test = order[held:], order[:held]
    luts_np, cnn = _fit(
        data, train, luts=luts, adaptive=adaptive, steps=steps, seed=seed, progress=progress
    )
    profile = StyleProfile(
        luts=luts_np,
        cnn=cnn,
        cnn_onnx=_export_onnx(cnn, luts),
        pairs=len(train),
        holdout_pairs=len(test),
        holdout_delta_e=0.0,
        no_edit_delta_e=0.0,
    )
    styled = [np.asarray(style_apply(profile, Image.fromarray(data.before[i]))) for i in test]
    profile.holdout_delta_e = _mean_delta_e(styled, [data.after[i] for i in test])
    profile.no_edit_delta_e = _mean_delta_e(
        [data.before[i] for i in test], [data.after[i] for i in test]
    )
    return profile


def mean_delta_e(a: np.ndarray, b: np.ndarray) -> float:
    """Return the mean CIEDE2000 difference between two sRGB uint8 images of one size."""
    return float(delta_e_2000(srgb_to_lab(a), srgb_to_lab(b)).mean())


def _mean_delta_e(outputs: list[np.ndarray], targets: list[np.ndarray]) -> float:
    return float(np.mean([mean_delta_e(o, t) for o, t in zip(outputs, targets, strict=True)]))


def _load(source: Source, long_edge: int) -> Image.Image:
    if isinstance(source, Image.Image):
        image = source if source.mode == "RGB" else source.convert("RGB")
    else:
        from delivery import images

        with open(source, "rb") as file:
            try:
                decoded = images.decode_for_analysis(
                    file,
                    images.kind_of(file),
                    max_pixels=Image.MAX_IMAGE_PIXELS,
                    long_edge=long_edge,
                )
            except images.ImageRejected as exc:
                raise StyleError(f"{os.fspath(source)}: cannot be read ({exc})") from exc
        image = Image.fromarray(decoded.image)
    if max(image.size) > long_edge:
        image = image.copy()
        image.thumbnail((long_edge, long_edge), Image.Resampling.BILINEAR)
    return image


def _fit(
    data: _Pairs, train: np.ndarray, *, luts: int, adaptive: bool, steps: int, seed: int, progress
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    import torch

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    thumbs = torch.from_numpy(
        np.stack([_thumbnail(Image.fromarray(data.before[i])) for i in train])
    )
    before = [
        torch.from_numpy(data.before[i].reshape(-1, 3).astype(np.float32) / 255) for i in train
    ]
    after = [torch.from_numpy(data.after[i].reshape(-1, 3).astype(np.float32) / 255) for i in train]
    counts = torch.tensor([len(b) for b in before])
    offsets = torch.cumsum(counts, 0) - counts
    before_all, after_all = torch.cat(before), torch.cat(after)

    net = _WeightNet.build(luts)
    identity = _identity_lut()
    basis = torch.zeros(luts, 3, LUT_SIZE, LUT_SIZE, LUT_SIZE)
    basis[0] = identity
    basis = torch.nn.Parameter(basis)
    if not adaptive:
        net.head.weight.requires_grad_(False)  # zero: every photo gets the same blend
        params = [basis]
    else:
        params = [basis, *net.parameters()]
    optimiser = torch.optim.Adam(params, lr=2e-3)
    # A few photos and pixels per step: a step costs the same for 10 pairs or 500, and random
    # pixels see a photo's whole gamut over the steps.
    batch, samples = min(BATCH, len(train)), 1024
    net.train()
    for step in range(steps):
        chosen = torch.randperm(len(train), generator=generator)[:batch]
        pick = (torch.rand(batch, samples, generator=generator) * counts[chosen, None]).long()
        index = (pick + offsets[chosen, None]).reshape(-1)
        x = before_all[index].reshape(batch, samples, 3)
        y = after_all[index].reshape(batch, samples, 3)
        weights = net(thumbs[chosen]) if adaptive else net.head.bias.expand(batch, luts)
        out = _lookup(basis, weights, x)
        loss = torch.mean((out - y) ** 2) + _regularisers(basis, identity, weights.mean(dim=0))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if progress is not None and step % 50 == 0:
            progress(step / steps)
    if progress is not None:
        progress(1.0)
    net.eval()
    cnn = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return basis.detach().permute(0, 2, 3, 4, 1).contiguous().numpy(), cnn


def _regularisers(basis, identity, typical):
    import torch

    # Smooth the edit, not the LUT: colours no training photo has follow their neighbours.
    residual = torch.cat([basis[:1] - identity, basis[1:]])
    smooth = sum(torch.mean(torch.diff(residual, dim=d) ** 2) for d in (2, 3, 4))
    # Each output channel rises with its own input (dims: 0 blue, 1 green, 2 red), checked on
    # the typical photo's blend (one LUT, not one per photo: that would cost more than the fit).
    blended = torch.einsum("k,kcdhw->cdhw", typical, basis)
    falls = [torch.relu(-torch.diff(blended[c], dim=2 - c)) for c in range(3)]
    monotone = sum(torch.mean(f**2) for f in falls)
    return 0.05 * smooth + 10.0 * monotone


def _identity_lut():
    import torch

    ramp = torch.linspace(0, 1, LUT_SIZE)
    b, g, r = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
    return torch.stack([r, g, b])  # (3, b, g, r)


def _lookup(basis, weights, pixels):
    """Blend the trilinear look-ups of the basis LUTs (K, 3, b, g, r) with weights (B, K), for
    pixels (B, P, 3) in 0–1: (B, P, 3). Looking up all K at once beats building B blended LUTs."""
    import torch
    import torch.nn.functional as F

    luts, (batch, count) = basis.shape[0], pixels.shape[:2]
    grid = (pixels * 2 - 1).reshape(1, 1, 1, -1, 3)  # grid_sample's x, y, z index r, g, b
    table = basis.reshape(1, luts * 3, *basis.shape[2:])
    out = F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=True)
    out = out.reshape(luts, 3, batch, count)
    return torch.einsum("bk,kcbp->bpc", weights, out)


class _WeightNet:
    """The tiny CNN that predicts the blend of the basis LUTs from a thumbnail."""

    @staticmethod
    def build(luts: int):
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                layers, width = [], 3
                for channels in CHANNELS:
                    layers += [
                        nn.Conv2d(width, channels, 3, stride=2, padding=1),
                        nn.LeakyReLU(0.2),
                    ]
                    width = channels
                self.features = nn.Sequential(*layers)
                self.dropout = nn.Dropout(0.3)
                self.head = nn.Linear(width, luts)
                # Start as "no edit": the identity basis at full weight, the others off.
                nn.init.zeros_(self.head.weight)
                with torch.no_grad():
                    self.head.bias.copy_(torch.eye(luts)[0])

            def forward(self, thumbs):
                return self.head(self.dropout(self.features(thumbs).mean(dim=(2, 3))))

        return Net()


def _export_onnx(cnn: dict[str, np.ndarray], luts: int) -> bytes:
    nodes, name = [], "thumbnail"
    for i in range(len(CHANNELS)):
        layer = f"features.{2 * i}"
        attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
        nodes.append(
            onnx_writer.Node(
                "Conv", [name, f"{layer}.weight", f"{layer}.bias"], [f"conv{i}"], attrs
            )
        )
        nodes.append(onnx_writer.Node("LeakyRelu", [f"conv{i}"], [f"act{i}"], {"alpha": 0.2}))
        name = f"act{i}"
    nodes += [
        onnx_writer.Node("GlobalAveragePool", [name], ["pooled"]),
        onnx_writer.Node("Flatten", ["pooled"], ["features"], {"axis": 1}),
        onnx_writer.Node(
            "Gemm", ["features", "head.weight", "head.bias"], ["weights"], {"transB": 1}
        ),
    ]
    return onnx_writer.onnx_model(
        nodes,
        cnn,
        {"thumbnail": (1, 3, THUMBNAIL, THUMBNAIL)},
        {"weights": (1, luts)},
        name="style_weights",
    )


# --- shoot consistency ----------------------------------------------------------------------


@dataclass
class Consistency:
    image: Image.Image
    gains: tuple[float, float, float]  # linear-light gains applied to red, green, blue
    stops: float  # the exposure change, in stops (+1: twice the light)


def shoot_consistency(images: Sequence[Image.Image]) -> list[Consistency]:
    """Bring one shoot's photos to a common exposure and white balance, measured per photo.

    Each photo's grey is the mean linear RGB of its mid-tones (the 20–80% luminance band: the
    backdrop and skin, not highlights or shadows); every photo is scaled, per channel in linear
    light, to the set's median grey. Gains are capped at two stops either way.
    """
    rgbs = [im if im.mode == "RGB" else im.convert("RGB") for im in images]
    greys = np.array([_mid_grey(_linear(np.asarray(_small(im)))) for im in rgbs])
    target = np.median(greys, axis=0)
    out = []
    for rgb, grey in zip(rgbs, greys, strict=True):
        gains = np.clip(target / np.maximum(grey, 1e-6), 0.25, 4.0)
        luminance = float(gains @ _LUMA)
        table = [_gain_table(g) for g in gains]
        corrected = rgb.point([v for t in table for v in t])
        out.append(
            Consistency(corrected, tuple(float(g) for g in gains), float(np.log2(luminance)))
        )
    return out


_LUMA = np.array([0.2126, 0.7152, 0.0722])


def _small(image: Image.Image) -> Image.Image:
    small = image.copy()
    small.thumbnail((256, 256), Image.Resampling.BILINEAR)
    return small


def _linear(rgb: np.ndarray) -> np.ndarray:
    v = rgb.astype(np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _mid_grey(linear: np.ndarray) -> np.ndarray:
    pixels = linear.reshape(-1, 3)
    luminance = pixels @ _LUMA
    low, high = np.percentile(luminance, [20, 80])
    return pixels[(luminance >= low) & (luminance <= high)].mean(axis=0)


def _gain_table(gain: float) -> list[int]:
    linear = _linear(np.arange(256)) * gain
    v = np.clip(linear, 0, 1)
    srgb = np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)
    return (srgb * 255).round().astype(int).tolist()
