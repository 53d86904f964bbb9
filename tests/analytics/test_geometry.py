import cv2
import numpy as np

from vistream.analytics.geometry import (
    angles_deg,
    bottom_centres,
    crossing_param,
    points_in_polygon,
    side_of_line,
)


def test_point_in_concave_polygon_agrees_with_opencv():
    # A concave "U" shape and 2000 random points (none exactly on an edge: non-integer coordinates).
    poly = np.array([[10, 10], [90, 10], [90, 90], [70, 90], [70, 30], [30, 30], [30, 90], [10, 90]], np.float64)
    pts = np.random.default_rng(7).uniform(0, 100, (2000, 2)) + 0.123
    ours = points_in_polygon(pts, poly)
    ref = np.array([cv2.pointPolygonTest(poly.astype(np.float32), (float(x), float(y)), False) > 0 for x, y in pts])
    assert np.array_equal(ours, ref)
    assert int(ours.sum()) == int(ref.sum()) > 0


def test_points_on_edges_and_vertices_are_inside():
    sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float64)
    pts = np.array([[0, 5], [10, 5], [5, 0], [5, 10], [0, 0], [10, 10], [10.001, 5], [5, 5]])
    assert points_in_polygon(pts, sq).tolist() == [True] * 6 + [False, True]
    assert points_in_polygon(np.zeros((0, 2)), sq).shape == (0,)


def test_bottom_centres_side_crossing_and_angles():
    assert bottom_centres(np.array([[10, 20, 30, 40]])).tolist() == [[25.0, 60.0]]
    a, b = np.array([0.0, 0.0]), np.array([10.0, 0.0])
    assert np.sign(side_of_line(np.array([[5, 1], [5, -1], [20, 0]]), a, b)).tolist() == [1, -1, 0]
    t = crossing_param(np.array([[2.5, -1], [15, -1], [0, 1]]), np.array([[2.5, 1], [15, 1], [5, 1]]), a, b)
    assert t[:2].tolist() == [0.25, 1.5] and np.isnan(t[2])
    ang = angles_deg(np.array([[1, 0], [0, 1], [-1, 0], [1, 1], [0, 0]]), np.array([2.0, 0.0]))
    np.testing.assert_allclose(ang[:4], [0, 90, 180, 45], atol=1e-9)
    assert np.isnan(ang[4])
