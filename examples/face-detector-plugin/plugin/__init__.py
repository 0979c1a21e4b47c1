"""Face detector pre-processor plugin: OpenCV's Haar cascade behind pure functions."""
