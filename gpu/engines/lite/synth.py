"""Instrument voices for the lite music engine: additive tones, drum hits, convolution reverb."""

from __future__ import annotations

import numpy as np

RATE = 44_100


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def envelope(
    n: int, attack: float, decay: float, sustain: float, release_at: int, release: float
) -> np.ndarray:
    """ADSR gain curve over n samples; the release starts at sample `release_at`."""
    t = np.arange(n, dtype=np.float32) / RATE
    a = np.clip(t / max(attack, 1e-4), 0, 1)
    d = sustain + (1 - sustain) * np.exp(-np.maximum(t - attack, 0) / max(decay, 1e-4))
    r_t = np.maximum(t - release_at / RATE, 0)
    r = np.exp(-r_t / max(release, 1e-4)) * (r_t < release * 6)
    return (a * d * r).astype(np.float32)


def tone(
    note: float,
    n: int,
    harmonics: int,
    rolloff: float,
    detune_cents: float = 0.0,
    phase: float = 0.0,
    decay_per_harmonic: float = 0.0,
) -> np.ndarray:
    """A harmonic tone: partial k has amplitude rolloff**(k-1)/k and optionally decays faster
    the higher it is (a plucked or struck string rather than a sustained one)."""
    hz = midi_hz(note) * 2 ** (detune_cents / 1200)
    t = np.arange(n, dtype=np.float32) / RATE
    out = np.zeros(n, dtype=np.float32)
    for k in range(1, harmonics + 1):
        if hz * k > RATE * 0.45:  # avoid aliasing above Nyquist
            break
        partial = np.sin(2 * np.pi * hz * k * t + phase * k).astype(np.float32) * (
            rolloff ** (k - 1) / k
        )
        if decay_per_harmonic:
            partial *= np.exp(-t * decay_per_harmonic * (k - 1)).astype(np.float32)
        out += partial
    return out


def kick(rng: np.random.Generator) -> np.ndarray:
    n = int(0.45 * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    freq = 48 + 95 * np.exp(-t * 28)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    click = rng.normal(0, 1, n).astype(np.float32) * np.exp(-t * 400)
    return (np.sin(phase) * np.exp(-t * 7.5) + 0.15 * click).astype(np.float32)


def snare(rng: np.random.Generator) -> np.ndarray:
    n = int(0.3 * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    noise = np.diff(rng.normal(0, 1, n + 1)).astype(np.float32) * 0.6
    body = np.sin(2 * np.pi * 185 * t) * np.exp(-t * 30)
    return (noise * np.exp(-t * 16) + 0.6 * body).astype(np.float32)


def hat(rng: np.random.Generator, length: float = 0.07) -> np.ndarray:
    n = int(length * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    noise = np.diff(rng.normal(0, 1, n + 2), n=2).astype(np.float32) * 0.35
    return (noise * np.exp(-t / (length / 4))).astype(np.float32)


def boom(rng: np.random.Generator) -> np.ndarray:
    """A deep cinematic drum: a low sine drop with a soft noise skin."""
    n = int(1.6 * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    freq = 38 + 40 * np.exp(-t * 6)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    skin = rng.normal(0, 1, n).astype(np.float32) * np.exp(-t * 25) * 0.2
    return (np.sin(phase) * np.exp(-t * 2.2) + skin).astype(np.float32)


def reverb_ir(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A stereo impulse response of exponentially decaying noise, darker as it decays."""
    n = int(seconds * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    noise = rng.normal(0, 1, (n, 2)).astype(np.float32)
    # A running mean takes the highs out of the noise; the tail gets more of it than the start.
    smooth = np.cumsum(noise, axis=0)
    smooth[8:] = smooth[8:] - smooth[:-8]
    dark = smooth / 8
    mix = np.clip(t / seconds * 1.5, 0, 1)[:, None]
    ir = (noise * (1 - mix) + dark * mix) * np.exp(-t * 6.9 / seconds)[:, None]
    ir[: int(0.012 * RATE)] = 0  # pre-delay keeps the dry attack clear
    return (ir / np.sqrt(np.sum(ir**2, axis=0))).astype(np.float32)


def convolve_into(out: np.ndarray, dry: np.ndarray, ir: np.ndarray, gain: float) -> None:
    """Add dry (mono) convolved with a stereo IR to out (n, 2), block by block so that
    memory stays bounded even for long tracks."""
    block = 1 << 16
    taps = ir.shape[0]
    nfft = 1 << int(np.ceil(np.log2(block + taps - 1)))
    spectrum = np.fft.rfft(ir, nfft, axis=0)
    total = out.shape[0]
    for start in range(0, dry.size, block):
        chunk = dry[start : start + block]
        wet = np.fft.irfft(np.fft.rfft(chunk, nfft)[:, None] * spectrum, nfft, axis=0)
        end = min(start + chunk.size + taps - 1, total)
        out[start:end] += (wet[: end - start] * gain).astype(np.float32)
