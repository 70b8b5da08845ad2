import numpy as np
from PIL import Image

from ai_assist.vision import quality
from ai_assist.vision.faces import find_faces
from tests.ai_assist import photos


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
