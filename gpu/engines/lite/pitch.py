"""Fundamental-frequency (F0) estimation by autocorrelation, used to match a reference voice."""

from __future__ import annotations

import numpy as np

F0_MIN_HZ = 60.0
F0_MAX_HZ = 420.0


def frame_rms(samples: np.ndarray, hop: int, size: int) -> np.ndarray:
    """RMS of consecutive frames of `size` samples every `hop` samples (at least one frame)."""
    if samples.size < size:
        samples = np.pad(samples, (0, size - samples.size))
    count = 1 + (samples.size - size) // hop
    frames = np.lib.stride_tricks.as_strided(
        samples, shape=(count, size), strides=(samples.strides[0] * hop, samples.strides[0])
    )
    return np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))


def median_f0(samples: np.ndarray, rate: int) -> float | None:
    """Median F0 in Hz over the voiced frames of a mono signal, or None when nothing is voiced."""
    x = samples.astype(np.float64)
    size, hop = int(0.040 * rate), int(0.010 * rate)
    if x.size < size:
        return None
    count = 1 + (x.size - size) // hop
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(count, size), strides=(x.strides[0] * hop, x.strides[0])
    )
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = rms > max(np.percentile(rms, 95) * 0.1, 1e-4)
    if not loud.any():
        return None
    frames = frames[loud] - frames[loud].mean(axis=1, keepdims=True)
    frames = frames * np.hanning(size)
    spectrum = np.fft.rfft(frames, n=2 * size, axis=1)
    corr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :size]
    # Divide out the window's own autocorrelation so long lags are not penalised.
    window_corr = np.correlate(np.hanning(size), np.hanning(size), "full")[size - 1 :]
    corr = corr / np.maximum(corr[:, :1], 1e-12) / (window_corr / window_corr[0] + 1e-3)
    lo, hi = int(rate / F0_MAX_HZ), int(rate / F0_MIN_HZ)
    band = corr[:, lo:hi]
    best = band.max(axis=1)
    # The first lag that reaches 90% of the best peak avoids halving F0 (octave errors).
    first = np.argmax(band >= 0.9 * best[:, None], axis=1)
    # Walk to the local maximum after that first crossing.
    f0s: list[float] = []
    for row, start, peak in zip(band, first, best, strict=True):
        if peak < 0.5:
            continue
        lag = int(start)
        while lag + 1 < row.size and row[lag + 1] > row[lag]:
            lag += 1
        if 0 < lag < row.size - 1:
            a, b, c = row[lag - 1], row[lag], row[lag + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom != 0 else 0.0
        else:
            shift = 0.0
        f0s.append(rate / (lo + lag + shift))
    if not f0s:
        return None
    return float(np.median(f0s))
