from datetime import datetime

import numpy as np
from PIL import Image

from ai_assist.vision import quality
from ai_assist.vision.decode import decode
from ai_assist.vision.faces import find_faces
from tests.ai_assist import photos


def test_a_large_jpeg_is_decoded_at_reduced_size_not_in_full():
    data = photos.jpeg(photos.astronaut(), size=(4000, 4000))

    decoded = decode(data, long_edge=900)

    # DCT scaling gives 1/4 (1000 px): the smallest scale that still covers 900 px.
    assert decoded.image.shape == (1000, 1000, 3)
    assert decoded.original_size == (4000, 4000)


def test_decoding_applies_exif_orientation_and_reads_the_capture_time():
    wide = np.asarray(Image.fromarray(photos.astronaut()).resize((600, 400)))
    taken = datetime(2025, 6, 1, 14, 30, 5)

    decoded = decode(photos.jpeg(wide, taken_at=taken, orientation=6))

    assert decoded.image.shape[:2] == (600, 400)  # rotated upright: portrait
    assert decoded.taken_at == taken


def test_heic_photos_decode_through_pillow_heif(tmp_path):
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(photos.astronaut()).save(path, "HEIF", quality=85)

    decoded = decode(path)

    assert decoded.image.shape == (512, 512, 3)
    assert len(find_faces(decoded.image)) == 1


def test_blur_lowers_sharpness_and_motion_blur_has_a_direction():
    face = (178, 57, 273, 177)
    image = photos.astronaut()
    sharp = quality.sharpness(quality.face_gray(image, face))
    soft = quality.sharpness(quality.face_gray(photos.defocus(image, 1.5), face))
    smeared = quality.sharpness(quality.face_gray(photos.motion_blur(image, 9), face))

    assert sharp.fine > 3 * soft.fine
    assert smeared.fine < sharp.fine / 2
    assert smeared.anisotropy > 0.45 > max(sharp.anisotropy, soft.anisotropy)


def test_sharpness_does_not_depend_on_brightness():
    face = (178, 57, 273, 177)
    image = photos.astronaut()
    normal = quality.sharpness(quality.face_gray(image, face)).fine
    darker = quality.sharpness(quality.face_gray(photos.exposed(image, -1.5), face)).fine

    assert abs(darker - normal) < 0.25 * normal


def test_eyes_are_measured_open_on_the_astronaut_and_closed_where_painted_shut():
    image = photos.astronaut()
    face = find_faces(image)[0]
    winking = find_faces(photos.close_eyes(image, face, which=("left",)))[0]

    assert face.eyes["left"].openness > 0.25 and face.eyes["right"].openness > 0.25
    assert winking.eyes["left"].openness < 0.15 < winking.eyes["right"].openness
    # The subject's left eye is on the image's right.
    assert face.eyes["left"].iris[0] > face.eyes["right"].iris[0]


def test_a_burst_frame_looks_alike_and_another_photo_does_not():
    image = photos.astronaut()
    first = quality.fingerprint(image)
    next_frame = quality.fingerprint(photos.shifted(image, 4, 2))
    coffee = quality.fingerprint(np.asarray(Image.fromarray(photos.no_face()).resize((512, 512))))

    assert quality.similarity(first, next_frame) > 0.95
    assert quality.similarity(first, coffee) < 0.5
