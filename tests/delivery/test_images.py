"""delivery.images on its own: what is accepted, what is refused, what renditions carry."""

import io
import time
from datetime import datetime

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms
from PIL.ExifTags import IFD

from delivery import images, provenance
from tests.delivery import corpus

LIMITS = {"max_bytes": 50_000_000, "max_pixels": 50_000_000, "max_strips": 32_768, "max_frames": 64}


def inspect(data: bytes, **limits):
    return images.inspect(io.BytesIO(data), size=len(data), **{**LIMITS, **limits})


@pytest.mark.parametrize(
    "make, kind",
    [
        (corpus.jpeg, "jpeg"),
        (corpus.png, "png"),
        (corpus.tiff, "tiff"),
        (corpus.tiff16, "tiff"),
        (corpus.heic, "heif"),
        (corpus.dng, "raw"),
    ],
)
def test_every_accepted_kind_is_recognised_by_its_content(make, kind):
    info = inspect(make())
    assert info.kind == kind
    assert info.width > 0 and info.height > 0


def test_kind_comes_from_content_not_name():
    # sniff sees bytes only: a PNG is a PNG whatever it is called, and EPS is never a JPEG.
    assert images.sniff(corpus.png()[:64]) == "png"
    with pytest.raises(images.ImageRejected) as refused:
        images.sniff(corpus.EPS[:64])
    assert refused.value.code == "unsupported_type"


def test_raw_reports_sensor_size_and_renders_from_embedded_preview():
    data = corpus.dng(width=256, height=192)
    assert (inspect(data).width, inspect(data).height) == (256, 192)
    made = images.renditions(io.BytesIO(data), "raw", max_pixels=10**8, watermark_text="x")
    assert Image.open(io.BytesIO(made["web"])).size == (128, 96)  # the preview's size


def test_a_raw_taken_upright_is_delivered_upright():
    data = corpus.dng(width=256, height=192, orientation=6)

    made = images.renditions(io.BytesIO(data), "raw", max_pixels=10**8, watermark_text="x")

    assert {Image.open(io.BytesIO(made[size])).size for size in ("web", "full")} == {(96, 128)}


def analysed(data: bytes, **options) -> images.AnalysisImage:
    file = io.BytesIO(data)
    return images.decode_for_analysis(file, images.kind_of(file), max_pixels=10**8, **options)


def test_a_large_jpeg_is_analysed_at_reduced_size_not_decoded_in_full():
    decoded = analysed(corpus.jpeg(4000, 2000), long_edge=900)

    # DCT scaling gives 1/4 (1000 px): the smallest scale that still covers 900 px.
    assert decoded.image.shape == (500, 1000, 3)
    assert decoded.original_size == (4000, 2000)


def test_the_analysis_sees_a_photo_upright_and_reads_when_it_was_taken():
    decoded = analysed(corpus.jpeg(600, 400, orientation=6))

    assert decoded.image.shape == (600, 400, 3)  # turned upright: portrait
    assert decoded.taken_at == datetime(2026, 5, 1, 10, 0, 0)


def test_the_analysis_sees_a_raw_taken_upright_as_delivery_does():
    decoded = analysed(corpus.dng(width=256, height=192, orientation=6))

    assert decoded.image.shape == (128, 96, 3)  # the preview, turned as the camera was held
    assert decoded.original_size == (256, 192)


def test_a_damaged_file_is_refused_by_the_analysis_as_at_upload():
    data, codes = corpus.hostile()["truncated.dng"]

    with pytest.raises(images.ImageRejected) as refused:
        analysed(data)

    assert refused.value.code in codes


@pytest.mark.parametrize("name", sorted(corpus.hostile()))
def test_hostile_file_is_rejected_cleanly(name):
    data, codes = corpus.hostile()[name]
    with pytest.raises(images.ImageRejected) as refused:
        inspect(data)
    assert refused.value.code in codes, refused.value.message
    assert refused.value.message


@pytest.mark.parametrize("name", sorted(corpus.odd()))
def test_odd_file_is_accepted_and_every_size_is_made(name):
    # Unreadable metadata counts as none: the photo stays usable and carries only our metadata.
    data = corpus.odd()[name]
    kind = inspect(data).kind
    made = images.renditions(io.BytesIO(data), kind, max_pixels=10**8, watermark_text="x")
    assert set(made) == {"thumb", "web", "proof", "full"}
    for size, rendition in made.items():
        assert images.private_metadata(rendition) == {}, size
        assert b"garbage" not in rendition, size


def test_size_and_pixel_limits_are_the_callers():
    data = corpus.jpeg(800, 600)
    with pytest.raises(images.ImageRejected, match="larger than the limit") as refused:
        inspect(data, max_bytes=len(data) - 1)
    assert refused.value.code == "too_large"
    with pytest.raises(images.ImageRejected) as refused:
        inspect(data, max_pixels=800 * 600 - 1)
    assert refused.value.code == "too_many_pixels"
    assert inspect(data, max_bytes=len(data), max_pixels=800 * 600).width == 800


def renditions_of(data: bytes, kind: str = "jpeg") -> dict[str, bytes]:
    return images.renditions(
        io.BytesIO(data), kind, max_pixels=10**8, watermark_text="PROOF · Lumen"
    )


def test_renditions_sizes_orientation_and_watermark():
    # 3000×2000 landscape pixels, EXIF orientation 6: the photo is upright as portrait.
    made = renditions_of(corpus.jpeg(3000, 2000, orientation=6))
    sizes = {name: Image.open(io.BytesIO(data)).size for name, data in made.items()}
    assert sizes["thumb"] == (267, 400)
    assert sizes["web"] == (1365, 2048)
    assert sizes["proof"] == (1067, 1600)
    assert sizes["full"] == (3000, 2000)  # lossless copy of the pixels, orientation kept as tag
    assert Image.open(io.BytesIO(made["full"])).getexif()[0x0112] == 6
    web = Image.open(io.BytesIO(made["web"])).resize((1067, 1600)).convert("L")
    proof = Image.open(io.BytesIO(made["proof"])).convert("L")
    difference = np.abs(np.asarray(web, np.int16) - np.asarray(proof, np.int16)).mean()
    assert difference > 3  # the watermark changed the proof visibly


@pytest.mark.parametrize(
    "make, kind",
    [
        (corpus.jpeg, "jpeg"),
        (corpus.progressive_jpeg, "jpeg"),
        (corpus.png, "png"),
        (corpus.tiff, "tiff"),
        (corpus.heic, "heif"),
    ],
)
def test_private_metadata_is_stripped_and_credits_kept(make, kind):
    for name, data in renditions_of(make(), kind).items():
        assert images.private_metadata(data) == {}, name
        for secret in (b"BODY-SERIAL-0042", b"Owner Name", b"maker-note-bytes", b"GPSLatitude"):
            assert secret not in data, (name, secret)
        with Image.open(io.BytesIO(data)) as image:
            credits = images.read_credits(image)
            assert credits.copyright == corpus.COPYRIGHT, name
            assert credits.creator == corpus.ARTIST, name
            assert b"digitalCapture" in image.info["xmp"]
        if kind == "jpeg":
            assert credits.credit == corpus.CREDIT  # from the original's XMP


def test_metadata_between_the_scans_of_a_progressive_jpeg_is_stripped():
    original = corpus.progressive_jpeg()
    gps = Image.Exif()
    gps[IFD.GPSInfo] = corpus.GPS
    gps_values = gps.tobytes()[-48:]  # the latitude and longitude rationals
    assert original.count(gps_values) == 2  # in the header and between the scans
    made = renditions_of(original)
    for size, data in made.items():
        assert gps_values not in data, size
        assert corpus.BETWEEN_SCANS_COMMENT not in data, size
    # The full size is still the original's own pixels, every scan of them.
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(made["full"])) as after:
        assert after.info.get("progressive") and np.array_equal(
            np.asarray(before), np.asarray(after)
        )


def test_the_corpus_original_really_carries_gps():
    # Guards the test above: the originals do have what must be stripped.
    found = images.private_metadata(corpus.jpeg())
    assert found["gps"][2] == (52.0, 31.0, 12.0)
    assert found["serial"] == "BODY-SERIAL-0042"
    assert found["xmp_gps"]


def test_web_renditions_are_srgb():
    # A CMYK JPEG and a 16-bit TIFF both come out as 8-bit RGB tagged sRGB.
    cmyk = io.BytesIO()
    corpus.picture(200, 100).convert("CMYK").save(cmyk, "JPEG")
    for data, kind in ((cmyk.getvalue(), "jpeg"), (corpus.tiff16(), "tiff")):
        web = Image.open(io.BytesIO(renditions_of(data, kind)["web"]))
        assert web.mode == "RGB"
        profile = ImageCms.ImageCmsProfile(io.BytesIO(web.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)


def test_the_same_photo_gives_the_same_renditions_every_time():
    # Repeated tasks and ZIP checksums rely on it; the sRGB profile once carried the time.
    data = corpus.png()  # every size re-encoded, each with the profile
    first = renditions_of(data, "png")
    time.sleep(1.1)  # the profile's creation time counts seconds
    assert renditions_of(data, "png") == first


def test_ai_results_are_labelled_as_such(tmp_path):
    made = images.renditions(
        io.BytesIO(corpus.jpeg()),
        "jpeg",
        max_pixels=10**8,
        watermark_text="x",
        origin=images.Origin("ai_fill_in"),
        signer=provenance.local_test_signer(tmp_path),
    )
    assert b"digitalsourcetype/compositeWithTrainedAlgorithmicMedia" in made["web"]


@pytest.mark.parametrize(
    "make, kind",
    [
        (corpus.jpeg_with_comment, "jpeg"),
        (lambda: corpus.jpeg_with_comment(corpus.COMMENT * 30_000), "jpeg"),  # 2 MB of comment
        (corpus.png_with_comment, "png"),
    ],
)
def test_renditions_carry_no_comment(make, kind):
    data = make()
    with Image.open(io.BytesIO(data)) as original:  # guards the test: the comment is there
        original.load()  # a PNG's text after its pixels is read with them
        assert corpus.COMMENT in _bytes(original.info["comment"])

    for size, rendition in renditions_of(data, kind).items():
        with Image.open(io.BytesIO(rendition)) as image:
            assert "comment" not in image.info, size
            assert not [name for name, _ in image.applist if name == "COM"], size
        assert b"+49 170 1234567" not in rendition, size
        assert images.read_credits(image).copyright == corpus.COPYRIGHT, size  # what we keep


def _bytes(text: str | bytes) -> bytes:
    return text.encode("latin-1") if isinstance(text, str) else text


def test_the_lossless_full_size_drops_what_app0_and_app14_were_made_to_hold():
    # A JFIF thumbnail, a JFXX extension and bytes padded onto Adobe's segment: none is ours.
    data = corpus.jpeg(seed=16)
    secret = b"Jane Example +49 170 1234567"
    jfif = b"JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x01\x01" + b"\x80\x80\x80"  # 1 x 1 thumbnail
    extra = (
        corpus._jpeg_segment(0xE0, jfif)
        + corpus._jpeg_segment(0xE0, b"JFXX\x00\x13" + secret)
        + corpus._jpeg_segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + secret)
    )
    start = 2 + int.from_bytes(data[4:6], "big") + 2 if data[2:4] == b"\xff\xe0" else 2
    hostile = data[:2] + extra + data[start:]

    full = renditions_of(hostile)["full"]

    assert secret not in full and b"\x80\x80\x80" not in full[: full.find(b"\xff\xdb")]
    with Image.open(io.BytesIO(hostile)) as before, Image.open(io.BytesIO(full)) as after:
        assert after.info["jfif_density"] == (72, 72) and after.info["adobe_transform"] == 1
        assert np.array_equal(np.asarray(before), np.asarray(after))


def test_camera_trailers_are_accepted_archives_after_them_are_not():
    # An MPO's second frame and a motion photo's video are random-looking bytes: no archive.
    for data in (corpus.mpo(), corpus.motion_photo()):
        assert inspect(data).kind == "jpeg"
    for data in (corpus.mpo(), corpus.motion_photo()):
        with pytest.raises(images.ImageRejected) as refused:
            inspect(data + corpus.zip_archive())
        assert refused.value.code == "trailing_data"


def test_strip_and_tile_limits_are_the_callers():
    out = io.BytesIO()
    tifffile.imwrite(out, np.asarray(corpus.picture(300, 200)), rowsperstrip=1)  # 200 strips
    stripped = out.getvalue()
    tiled = io.BytesIO()
    tifffile.imwrite(tiled, np.asarray(corpus.picture(300, 200)), tile=(16, 16))  # 19 × 13 tiles

    assert inspect(stripped, max_strips=200).width == 300
    assert inspect(tiled.getvalue(), max_strips=19 * 13).width == 300
    for data, limit in ((stripped, 199), (tiled.getvalue(), 19 * 13 - 1)):
        with pytest.raises(images.ImageRejected, match=f"more than {limit} strips") as refused:
            inspect(data, max_strips=limit)
        assert refused.value.code == "too_many_strips"


@pytest.mark.parametrize(
    "make, frames",
    [
        (corpus.mpo, 2),
        (lambda: corpus.mpo(claimed=3), 3),
        (corpus.tiff_pages, 3),
        (lambda: corpus.apng(5), 5),
        (corpus.heic_burst, 3),
    ],
    ids=["mpo", "mpo-3", "tiff-pages", "apng", "heic-burst"],
)
def test_frame_limits_are_the_callers(make, frames):
    data = make()

    assert inspect(data, max_frames=frames).width > 0
    with pytest.raises(images.ImageRejected, match=f"more than {frames - 1} frames") as refused:
        inspect(data, max_frames=frames - 1)
    assert refused.value.code == "too_many_frames"


def test_a_heic_thumbnail_is_not_an_image_of_its_own():
    out = io.BytesIO()
    corpus.picture(320, 240).save(out, "HEIF", thumbnails=[64, 128])

    assert inspect(out.getvalue(), max_frames=1).width == 320


@pytest.mark.parametrize(
    "make, first",
    [(corpus.mpo, (640, 480)), (corpus.tiff_pages, (300, 200)), (corpus.heic_burst, (320, 240))],
    ids=["mpo", "tiff-pages", "heic-burst"],
)
def test_only_the_first_frame_is_checked_and_delivered(make, first):
    data = make()
    info = inspect(data)
    made = renditions_of(data, info.kind)

    assert (info.width, info.height) == first
    with Image.open(io.BytesIO(made["full"])) as full:
        assert full.size == first
        assert getattr(full, "n_frames", 1) == 1
    assert b"MPF\x00" not in made["full"]


def test_chance_archive_bytes_in_a_tiff_are_not_an_archive():
    # A ZIP end record's signature in the pixels, with no central directory before it.
    pixels = np.zeros((100, 100), np.uint8)
    pixels[-1, :4] = list(b"PK\x05\x06")
    out = io.BytesIO()
    tifffile.imwrite(out, pixels)
    assert b"PK\x05\x06" in out.getvalue()

    assert inspect(out.getvalue()).kind == "tiff"
