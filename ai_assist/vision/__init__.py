"""Plain functions on images and arrays: faces, sharpness, exposure. No Django here.

Photos are decoded by `delivery.images`, the one decoder uploads and renditions use too.
"""
