"""Every delivered file says what it is: its IPTC digital source type in XMP, and for AI work a
C2PA manifest signed by the studio that reads back valid with the studio's root as anchor."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from delivery import images, provenance, services
from delivery.models import Photo
from tests.delivery import corpus
from tests.delivery.conftest import upload

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    """The embedded default's test signer is made in this test's own folder."""
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def delivered(gallery, photographer, source: str) -> dict[str, bytes]:
    """Upload a photo as `source` and make its renditions (the task's work); return the files."""
    photo = services.photo_upload(
        gallery=gallery, actor=photographer, file=upload("p.jpg", corpus.jpeg()), source=source
    )
    assert services.photo_make_renditions(photo_pk=photo.pk)
    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.READY
    return {size: _read(stored["name"]) for size, stored in photo.renditions.items()}


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as file:
        return file.read()


def xmp_source_type(data: bytes) -> str:
    xmp = Image.open(io.BytesIO(data)).info["xmp"].decode()
    return images._xmp_value(xmp.encode(), "Iptc4xmpExt:DigitalSourceType")


def test_an_ai_retouched_photo_carries_its_source_type_and_a_trusted_manifest(
    gallery, photographer, _var_dir
):
    made = delivered(gallery, photographer, Photo.Source.AI_RETOUCH)
    root = provenance.local_test_signer(_var_dir).anchor  # made at first use, then reused

    for size in ("thumb", "web", "proof", "full"):
        # The XMP label survives signing, and says what the manifest says.
        assert xmp_source_type(made[size]) == IPTC + "algorithmicallyEnhanced"
        manifest = provenance.read_manifest(made[size], trust_anchors=root)
        assert manifest.state == "Trusted", manifest.failures
        assert [a["action"] for a in manifest.actions] == ["c2pa.opened", "c2pa.edited"]
        assert manifest.actions[1]["digitalSourceType"] == IPTC + "algorithmicallyEnhanced"
        assert manifest.signed_by == provenance.TEST_SIGNER_NAME
        assert "TEST SIGNER" in manifest.generator
    # Without the studio's root a reader still finds it intact, from a signer it does not know.
    assert provenance.read_manifest(made["web"]).state == "Valid"


def test_one_changed_byte_makes_the_manifest_invalid(gallery, photographer, _var_dir):
    web = bytearray(delivered(gallery, photographer, Photo.Source.AI_RETOUCH)["web"])
    web[-100] ^= 0x01  # in the scan, near the end

    manifest = provenance.read_manifest(
        bytes(web), trust_anchors=provenance.local_test_signer(_var_dir).anchor
    )
    assert manifest.state == "Invalid"
    assert "assertion.dataHash.mismatch" in manifest.failures


def test_a_camera_photo_has_no_manifest_and_says_digital_capture(gallery, photographer, _var_dir):
    made = delivered(gallery, photographer, Photo.Source.CAMERA)

    for data in made.values():
        assert provenance.read_manifest(data) is None
        assert b"\xff\xeb" not in data[: data.find(b"\xff\xda")]  # no APP11 (JUMBF) segment
        assert xmp_source_type(data) == IPTC + "digitalCapture"
    assert not _var_dir.exists()  # no signer needed, none made


def test_a_fill_in_is_a_composite_with_trained_algorithmic_media(gallery, photographer, _var_dir):
    web = delivered(gallery, photographer, Photo.Source.AI_FILL_IN)["web"]

    assert xmp_source_type(web) == IPTC + "compositeWithTrainedAlgorithmicMedia"
    manifest = provenance.read_manifest(
        web, trust_anchors=provenance.local_test_signer(_var_dir).anchor
    )
    assert manifest.state == "Trusted"
    assert manifest.actions == [
        {
            "action": "c2pa.created",
            "digitalSourceType": IPTC + "compositeWithTrainedAlgorithmicMedia",
        }
    ]


def test_a_retouch_that_healed_spots_is_a_composite(tmp_path):
    made = images.renditions(
        io.BytesIO(corpus.jpeg()),
        "jpeg",
        max_pixels=10**8,
        watermark_text="x",
        origin=images.Origin("ai_retouch", inpainted=True),
        signer=provenance.local_test_signer(tmp_path),
    )

    assert xmp_source_type(made["full"]) == IPTC + "compositeWithTrainedAlgorithmicMedia"
    edited = provenance.read_manifest(made["full"]).actions[-1]
    assert edited["digitalSourceType"] == IPTC + "compositeWithTrainedAlgorithmicMedia"


def test_ai_renditions_are_never_made_unsigned():
    with pytest.raises(ValueError):
        images.renditions(
            io.BytesIO(corpus.jpeg()),
            "jpeg",
            max_pixels=10**8,
            watermark_text="x",
            origin=images.Origin("ai_retouch"),
        )


SIGN_WITH_SETTINGS = """
import io, sys, django
django.setup()
from delivery import images, services
made = images.renditions(
    open(sys.argv[1], "rb"), "jpeg", max_pixels=10**8, watermark_text="x",
    origin=images.Origin("ai_retouch"), signer=services.provenance_signer(),
)
open(sys.argv[2], "wb").write(made["web"])
"""


def test_the_studios_own_certificate_and_key_from_file_settings_sign(tmp_path):
    studio = provenance.local_test_signer(tmp_path / "studio")  # stands in for a studio's CA
    (tmp_path / "chain.pem").write_bytes(studio.chain)
    (tmp_path / "key.pem").write_bytes(studio.key)
    (tmp_path / "photo.jpg").write_bytes(corpus.jpeg())
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "VAR_DIR": str(tmp_path / "var"),
        "C2PA_SIGNING_CERT_FILE": str(tmp_path / "chain.pem"),
        "C2PA_SIGNING_KEY_FILE": str(tmp_path / "key.pem"),
    }
    subprocess.run(
        [sys.executable, "-c", SIGN_WITH_SETTINGS, tmp_path / "photo.jpg", tmp_path / "web.jpg"],
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )

    web = (tmp_path / "web.jpg").read_bytes()
    assert provenance.read_manifest(web, trust_anchors=studio.anchor).state == "Trusted"
    assert not (tmp_path / "var" / provenance.TEST_SIGNER_FILE).exists()  # no test signer made


def test_signing_adds_only_the_manifest_to_the_metadata_kept(tmp_path):
    def segments(origin: images.Origin) -> list[bytes]:
        made = images.renditions(
            io.BytesIO(corpus.jpeg()),
            "jpeg",
            max_pixels=10**8,
            watermark_text="x",
            origin=origin,
            signer=provenance.local_test_signer(tmp_path),
        )
        web = made["web"]
        return [web[start:end] for _, start, end in images._jpeg_segments(web)][:-1]

    camera, ai = segments(images.Origin()), segments(images.Origin("ai_retouch"))
    added = [segment for segment in ai if segment[1] == 0xEB]  # APP11: C2PA's JUMBF boxes
    assert added
    assert [s for s in ai if s[1] != 0xEB and b"digitalsourcetype" not in s] == [
        s for s in camera if b"digitalsourcetype" not in s
    ]


def test_a_key_that_is_not_the_certificates_fails_the_photo_with_the_reason(
    gallery, photographer, settings, tmp_path
):
    studio, other = (provenance.local_test_signer(tmp_path / name) for name in ("a", "b"))
    settings.C2PA_SIGNING_CERT, settings.C2PA_SIGNING_KEY = (
        studio.chain.decode(),
        other.key.decode(),
    )
    photo = services.photo_upload(
        gallery=gallery,
        actor=photographer,
        file=upload("p.jpg", corpus.jpeg()),
        source="ai_retouch",
    )

    assert not services.photo_make_renditions(photo_pk=photo.pk)

    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.FAILED
    assert "C2PA signing failed" in photo.rendition_error
    assert photo.renditions == {}  # no unsigned AI file was stored
