"""Plain functions on images and arrays: decoding, faces, sharpness, exposure. No Django here."""
