"""Constant-velocity Kalman filter over boxes, batched over all tracks of a stream (DeepStream's StateEstimator).

State per track: ``[cx, cy, w, h, vcx, vcy, vw, vh]`` (or ``[cx, cy, a, h, ...]`` with ``useAspectRatio``, a = w/h).
Noise follows DeepStream's StateEstimator keys: with ``noiseWeightVar4Loc``/``noiseWeightVar4Vel`` > 0 the
standard deviations scale with the box height (DeepSORT's model), otherwise the fixed variances
``processNoiseVar4Loc/Size/Vel`` and ``measurementNoiseVar4Detector`` apply.
"""

from __future__ import annotations

import numpy as np

from vistream.track.config import StateEstimatorConfig

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)


class BatchKalman:
    """Predict/update many box tracks at once; all arrays carry the tracks on axis 0.

    >>> kf = BatchKalman(StateEstimatorConfig(state_estimator_type=2))
    >>> m, P = kf.initiate(np.array([[100., 50., 20., 40.]]))
    >>> m, P = kf.predict(m, P)
    >>> m[0, :4].tolist()
    [100.0, 50.0, 20.0, 40.0]
    """

    def __init__(self, cfg: StateEstimatorConfig) -> None:
        self.cfg = cfg
        self.aspect = bool(cfg.use_aspect_ratio)
        self.scaled = cfg.noise_weight_var_4_loc > 0 and cfg.noise_weight_var_4_vel > 0
        self.w_loc = cfg.noise_weight_var_4_loc
        self.w_vel = cfg.noise_weight_var_4_vel

    # measurement space: cxcywh boxes (converted to cx,cy,a,h when useAspectRatio)
    def to_measurement(self, cxcywh: np.ndarray) -> np.ndarray:
        if not self.aspect:
            return np.asarray(cxcywh, np.float64)
        z = np.array(cxcywh, np.float64)
        z[:, 2] = z[:, 2] / np.maximum(z[:, 3], 1e-6)
        return z

    def to_box(self, mean: np.ndarray) -> np.ndarray:
        """``(N, 4)`` cx, cy, w, h of the states, sizes kept >= 1 pixel."""
        b = mean[:, :4].copy()
        if self.aspect:
            b[:, 2] = b[:, 2] * b[:, 3]
        np.maximum(b[:, 2:4], 1.0, out=b[:, 2:4])
        return b

    def _diag(self, values: np.ndarray) -> np.ndarray:
        n, k = values.shape
        out = np.zeros((n, k, k))
        idx = np.arange(k)
        out[:, idx, idx] = values
        return out

    def _measurement_var(self, mean: np.ndarray) -> np.ndarray:
        n = len(mean)
        if self.scaled:
            s = (self.w_loc * mean[:, 3]) ** 2
            var = np.stack([s, s, s, s], 1)
            if self.aspect:
                var[:, 2] = 1e-2**2
            return var
        return np.full((n, 4), self.cfg.measurement_noise_var_4_detector)

    def _process_var(self, mean: np.ndarray) -> np.ndarray:
        n = len(mean)
        if self.scaled:
            h = mean[:, 3]
            p = (self.w_loc * h) ** 2
            v = (self.w_vel * h) ** 2
            var = np.stack([p, p, p, p, v, v, v, v], 1)
            if self.aspect:
                var[:, 2], var[:, 6] = 1e-2**2, 1e-5**2
            return var
        c = self.cfg
        row = [c.process_noise_var_4_loc] * 2 + [c.process_noise_var_4_size] * 2 + [c.process_noise_var_4_vel] * 4
        return np.tile(np.asarray(row, np.float64), (n, 1))

    def initiate(self, cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = self.to_measurement(cxcywh)
        n = len(z)
        mean = np.zeros((n, 8))
        mean[:, :4] = z
        if self.scaled:
            h = z[:, 3]
            p = (2 * self.w_loc * h) ** 2
            v = (10 * self.w_vel * h) ** 2
            var = np.stack([p, p, p, p, v, v, v, v], 1)
            if self.aspect:
                var[:, 2], var[:, 6] = 1e-2**2, 1e-5**2
        else:
            r = self.cfg.measurement_noise_var_4_detector
            # unknown velocity: a wide prior so the first matches set it
            var = np.tile(np.array([r, r, r, r, 100.0, 100.0, 25.0, 25.0]), (n, 1))
        return mean, self._diag(var)

    def predict(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(mean) == 0:
            return mean, cov
        mean = mean @ _F.T
        # a shrinking box must not flip: stop the size velocity once the size would go non-positive
        bad = mean[:, 2:4] <= 0
        if bad.any():
            mean[:, 2:4] = np.where(bad, mean[:, 2:4] - mean[:, 6:8], mean[:, 2:4])
            mean[:, 6:8] = np.where(bad, 0.0, mean[:, 6:8])
        cov = _F @ cov @ _F.T + self._diag(self._process_var(mean))
        return mean, cov

    def innovation(self, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
        """Innovation covariance ``S = H P H^T + R``, ``(N, 4, 4)``."""
        return cov[:, :4, :4] + self._diag(self._measurement_var(mean))

    def update(self, mean: np.ndarray, cov: np.ndarray, cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(mean) == 0:
            return mean, cov
        z = self.to_measurement(cxcywh)
        s = self.innovation(mean, cov)
        pht = cov[:, :, :4]  # P H^T, (N, 8, 4)
        gain = np.linalg.solve(s, pht.transpose(0, 2, 1)).transpose(0, 2, 1)  # K = P H^T S^-1 (S symmetric)
        resid = z - mean[:, :4]
        mean = mean + np.einsum("nij,nj->ni", gain, resid)
        cov = cov - gain @ pht.transpose(0, 2, 1)
        return mean, cov

    def mahalanobis(self, mean: np.ndarray, cov: np.ndarray, cxcywh: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of every measurement to every track's prediction, ``(N, M)``."""
        if len(mean) == 0 or len(cxcywh) == 0:
            return np.zeros((len(mean), len(cxcywh)))
        z = self.to_measurement(cxcywh)
        s_inv = np.linalg.inv(self.innovation(mean, cov))
        d = z[None, :, :] - mean[:, None, :4]
        return np.einsum("nmi,nij,nmj->nm", d, s_inv, d)
