"""Synthetic Stinger sessions: a seeded motion model that writes realistic device logs.

The generator exists so demos, tests and benchmarks have plausible data of any
length without a blaster. Everything is drawn from one ``random.Random(seed)``,
so a (seconds, seed, params) triple always gives the same bytes.

Units (what the device's IMU reports, raw i16 counts):

- accelerometer: 4096 counts per g (a +-8 g range); recoil beyond that clips
  to -32768..32767 exactly as the sensor saturates;
- gyroscope: 16.4 counts per deg/s (a +-2000 deg/s range), also clipped;
- axes: x along the barrel, y to the left, z up through the grip's top.

Timeline. The session is a chain of *blocks*, each preceded by an idle stretch
(hand-held wander, occasional small fidget turns; at least 0.6 s):

- **aimed shot**: an aim swing (a smooth sin² burst of angular rate,
  0.3-0.9 s, 60-450 deg/s peak, mostly yaw and pitch), a settle of 0.1-0.35 s
  with a quiet hand, then a trigger pull held 80-200 ms. With probability
  ``bounce_prob`` the switch bounces (1/0/1 within a few samples, at press or
  at release), which adds a rising edge 20-200 ms after the real one. 20-50 ms
  after the press the dart leaves: a recoil impulse along x (2-9 g, most near
  4.5 g, ringing at about 22 Hz and decaying in ~30 ms; the top of the range
  saturates ``ax``) plus a muzzle flip on the pitch gyro (150-550 deg/s).
  With probability ``follow_up_prob`` a second, quick pull follows 250-800 ms
  after the first, so the 1 s gap rule (SPEC §2) rejects it.
- **aim without a shot**: the same swing and settle, then 0.3-1.2 s of holding
  aim and no trigger (the hard negatives a model must learn to ignore).
- **stillness pause**: 0.3-0.8 s of an almost motionless blaster, after which
  the logger stops; the next timestamp jumps forward by ``pause_s`` seconds.

Per sample (nominal 100 Hz; the dynamics use dt = 10 ms):

- the hand's tremor is an AR(1) angular rate per axis (coefficient 0.9, i.e.
  ~100 ms correlation) whose level depends on the phase: 6 deg/s idle,
  4 deg/s after a shot, 1.5 deg/s settled on target, 0.2 deg/s paused;
- pitch and roll integrate the angular rate and relax towards the blaster's
  resting tilt (pitch -36 deg, roll -8 deg) with a 3 s time constant; the
  gravity vector follows them: ``(-sin p, cos p sin r, cos p cos r)`` g;
- swings add their tangential (``ay``, ``az``) and centripetal (``ax``)
  acceleration for a 0.15 m lever arm;
- sensor noise is white: 20 counts on each accelerometer axis, 15 on each
  gyro axis;
- the timestamp step is 10 ms, 9 or 11 ms with 3 % probability each.

``seconds`` is recording time: the log has ``round(seconds * 100)`` samples;
pauses add wall-clock time on top. The boot time (first timestamp) is drawn
from ``boot_ms``. Event counts follow the ``*_per_minute`` rates of
recording time on average (the schedule is random).
"""
from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field, replace
from typing import List, Optional, Tuple

from .log import Log, from_columns

SAMPLE_RATE_HZ = 100
ACCEL_COUNTS_PER_G = 4096.0
GYRO_COUNTS_PER_DPS = 16.4
_I16_MIN, _I16_MAX = -32768, 32767

_DT = 1.0 / SAMPLE_RATE_HZ
_DEG = math.pi / 180.0
_LEVER_M = 0.15
_G = 9.81
_REST_PITCH = -36.0 * _DEG
_REST_ROLL = -8.0 * _DEG
_RECENTER = _DT / 3.0
_AR = 0.9
_AR_GAIN = math.sqrt(1.0 - _AR * _AR)
_ACCEL_NOISE = 20.0
_GYRO_NOISE = 15.0

# Tremor levels (deg/s, stationary standard deviation of the AR(1) rate).
_TREMOR_IDLE, _TREMOR_AFTER, _TREMOR_AIM, _TREMOR_STILL = 6.0, 4.0, 1.5, 0.2

# Rough block lengths (samples) used to turn the per-minute rates into idle gaps.
_SHOT_BLOCK, _AIM_BLOCK, _PAUSE_BLOCK = 150, 150, 55
_MIN_IDLE = 60


@dataclass(frozen=True)
class SynthParams:
    """Knobs of the motion model; rates are per minute of recording time.

    Attributes:
        shots_per_minute: aimed shots (each may bring a quick follow-up).
        aims_without_shot_per_minute: aim swings that end without a pull.
        pauses_per_minute: stillness pauses where the logger stops.
        follow_up_prob: chance that a shot gets a second pull 250-800 ms later.
        bounce_prob: chance that a pull's switch bounces (an extra rising edge).
        pause_s: (min, max) seconds a pause adds to the timestamps.
        recoil_g: (low, mode, high) of the triangular recoil peak, in g.
        boot_ms: (min, max) of the first timestamp, ms since boot.
    """

    shots_per_minute: float = 8.0
    aims_without_shot_per_minute: float = 3.0
    pauses_per_minute: float = 0.6
    follow_up_prob: float = 0.3
    bounce_prob: float = 0.25
    pause_s: Tuple[float, float] = (2.0, 15.0)
    recoil_g: Tuple[float, float, float] = (2.0, 4.5, 9.0)
    boot_ms: Tuple[int, int] = (5_000, 250_000)


@dataclass
class Truth:
    """What the generator did, as sample indices into the log (ascending).

    Attributes:
        shots: the first rising edge of every aimed pull.
        follow_ups: the rising edge of every quick follow-up pull (< 1 s after a shot).
        bounces: extra rising edges made by switch bounce.
        aims_without_shot: the sample where each shot-less aim had settled.
        pauses: the first sample after each timestamp jump.
        saturated_samples: samples with at least one channel at -32768 or 32767.
    """

    shots: List[int] = field(default_factory=list)
    follow_ups: List[int] = field(default_factory=list)
    bounces: List[int] = field(default_factory=list)
    aims_without_shot: List[int] = field(default_factory=list)
    pauses: List[int] = field(default_factory=list)
    saturated_samples: int = 0

    @property
    def pulls(self) -> int:
        """Trigger pulls made on purpose (shots plus follow-ups)."""
        return len(self.shots) + len(self.follow_ups)


class _Block:
    """Samples of one block: additive rates (deg/s) and accelerations (g), trigger, tremor level.

    ``rate``/``acc`` are 3 lists (x, y, z) of ``length`` values; ``events`` are
    ``(truth_list_name, offset)`` pairs; ``jump_ms`` is added after the last sample.
    """

    def __init__(self, length: int, tremor: float) -> None:
        self.length = length
        self.rate = [[0.0] * length for _ in range(3)]
        self.acc = [[0.0] * length for _ in range(3)]
        self.trigger = [0] * length
        self.tremor = [tremor] * length
        self.events: List[Tuple[str, int]] = []
        self.jump_ms = 0

    def set_tremor(self, start: int, stop: int, level: float) -> None:
        self.tremor[start:stop] = [level] * (stop - start)


class _Scheduler:
    """Draws the blocks; all randomness comes from the one ``random.Random``."""

    def __init__(self, rng: random.Random, params: SynthParams) -> None:
        self.rng = rng
        self.p = params
        rates = (params.shots_per_minute, params.aims_without_shot_per_minute, params.pauses_per_minute)
        if min(rates) < 0 or sum(rates) <= 0:
            raise ValueError(f"event rates must be >= 0 with a positive sum, got {rates}")
        self.rates = rates
        per_minute = SAMPLE_RATE_HZ * 60.0
        busy = sum(r * n for r, n in zip(rates, (_SHOT_BLOCK, _AIM_BLOCK, _PAUSE_BLOCK)))
        self.mean_extra_idle = max(0.0, (per_minute - busy) / sum(rates) - _MIN_IDLE)

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.rng.random()

    def randint(self, lo: int, hi: int) -> int:
        """An integer in ``lo..hi`` inclusive."""
        return lo + int(self.rng.random() * (hi - lo + 1))

    def next_blocks(self) -> List[_Block]:
        """An idle stretch followed by one event block."""
        idle_len = _MIN_IDLE + int(-math.log(1.0 - self.rng.random()) * self.mean_extra_idle)
        blocks = [self.idle(idle_len)]
        u = self.rng.random() * sum(self.rates)
        if u < self.rates[0]:
            blocks.append(self.aim(shoot=True))
        elif u < self.rates[0] + self.rates[1]:
            blocks.append(self.aim(shoot=False))
        else:
            blocks.append(self.pause())
        return blocks

    def idle(self, length: int) -> _Block:
        b = _Block(length, _TREMOR_IDLE)
        if length > 80 and self.rng.random() < 0.5:
            dur = self.randint(20, 60)
            self.swing(b, self.randint(0, length - dur), dur, self.uniform(40.0, 150.0))
        return b

    def swing(self, b: _Block, start: int, dur: int, peak_dps: float) -> None:
        """A burst of angular rate ``peak_dps * sin(pi t / T)**2`` about a random, mostly yaw/pitch axis.

        The sin² profile starts and ends with zero rate and zero angular
        acceleration, so the tangential acceleration it adds is continuous.
        """
        g = self.rng.gauss
        ux, uy, uz = 0.3 * g(0.0, 1.0), 0.7 * g(0.0, 1.0), g(0.0, 1.0)
        norm = math.sqrt(ux * ux + uy * uy + uz * uz) or 1.0
        ux, uy, uz = ux / norm, uy / norm, uz / norm
        seconds = dur * _DT
        for k in range(dur):
            phase = math.pi * k / dur
            w = peak_dps * math.sin(phase) ** 2
            alpha = peak_dps * math.pi / seconds * math.sin(2.0 * phase) * _DEG  # rad/s^2
            wy, wz = w * uy * _DEG, w * uz * _DEG
            i = start + k
            b.rate[0][i] += w * ux
            b.rate[1][i] += w * uy
            b.rate[2][i] += w * uz
            b.acc[0][i] -= (wy * wy + wz * wz) * _LEVER_M / _G
            b.acc[1][i] += alpha * uz * _LEVER_M / _G
            b.acc[2][i] -= alpha * uy * _LEVER_M / _G

    def pull(self, b: _Block, at: int, kind: str) -> None:
        """A trigger pull at offset ``at`` (maybe bouncing) and the recoil that follows it."""
        hold = self.randint(8, 20)
        if self.rng.random() < self.p.bounce_prob:
            on, off = self.randint(1, 2), self.randint(1, 2)
            if self.rng.random() < 0.5:  # bounce at press: 1 0 1111...
                pattern = [1] * on + [0] * off + [1] * hold
                bounce_at = on + off
            else:  # bounce at release: 1111... 0 1
                pattern = [1] * hold + [0] * off + [1] * on
                bounce_at = hold + off
            b.events.append(("bounces", at + bounce_at))
        else:
            pattern = [1] * hold
        b.events.append((kind, at))
        end = min(at + len(pattern), b.length)
        b.trigger[at:end] = pattern[: end - at]
        self.recoil(b, at + self.randint(2, 5))

    def recoil(self, b: _Block, start: int) -> None:
        """The dart leaving: ringing x impulse (may saturate) and a pitch flip of the muzzle."""
        lo, mode, hi = self.p.recoil_g
        peak = self.rng.triangular(lo, hi, mode)
        flip = self.uniform(150.0, 550.0)
        side = self.rng.gauss(0.0, 0.15)
        for k in range(min(30, b.length - start)):
            i = start + k
            env = math.exp(-k / 3.0)
            ring = math.cos(2.0 * math.pi * 0.22 * k)
            b.acc[0][i] += peak * env * ring
            b.acc[1][i] += side * peak * env * ring
            b.acc[2][i] += 0.3 * peak * env * math.sin(2.0 * math.pi * 0.22 * k)
            kick = flip * math.exp(-k / 4.0) * math.cos(2.0 * math.pi * 0.12 * k)
            b.rate[1][i] -= kick
            b.rate[0][i] += side * kick
            b.rate[2][i] += 0.5 * side * kick

    def aim(self, shoot: bool) -> _Block:
        swing = self.randint(30, 90)
        settle = self.randint(10, 35)
        if shoot:
            first = swing + settle
            follow = self.randint(25, 80) if self.rng.random() < self.p.follow_up_prob else 0
            length = first + follow + self.randint(30, 60) + 25
        else:
            length = swing + settle + self.randint(30, 120)
        b = _Block(length, _TREMOR_AFTER)
        self.swing(b, 0, swing, self.uniform(60.0, 450.0))
        b.set_tremor(0, swing, _TREMOR_IDLE)
        if not shoot:
            b.set_tremor(swing, length, _TREMOR_AIM)
            b.events.append(("aims_without_shot", swing + settle))
            return b
        b.set_tremor(swing, first, _TREMOR_AIM)
        self.pull(b, first, "shots")
        if follow:
            self.pull(b, first + follow, "follow_ups")
        return b

    def pause(self) -> _Block:
        b = _Block(self.randint(30, 80), _TREMOR_STILL)
        lo, hi = self.p.pause_s
        b.jump_ms = int(self.uniform(lo, hi) * 1000.0)
        b.events.append(("pauses", b.length))
        return b


class _Sensor:
    """The blaster's state between samples (time, attitude, tremor) and the output columns."""

    def __init__(self, rng: random.Random, boot_ms: int) -> None:
        self.rng = rng
        self.t = boot_ms
        self.jump = 0
        self.pitch, self.roll = _REST_PITCH, _REST_ROLL
        self.tremor = (0.0, 0.0, 0.0)
        self.timestamps = array("q")
        self.columns = [array("h") for _ in range(6)]
        self.trigger = array("B")
        self.saturated = 0

    def render(self, b: _Block, count: int) -> None:
        """Append the first ``count`` samples of block ``b`` (module docstring, steps 1-6)."""
        gauss, rand, sin, cos = self.rng.gauss, self.rng.random, math.sin, math.cos
        t, jump, pitch, roll = self.t, self.jump, self.pitch, self.roll
        tx, ty, tz = self.tremor
        rx, ry, rz = b.rate
        lx, ly, lz = b.acc
        gc, ac = GYRO_COUNTS_PER_DPS, ACCEL_COUNTS_PER_G
        cols, saturated = self.columns, 0
        for k in range(count):
            u = rand()
            t += jump + (9 if u < 0.03 else 11 if u > 0.97 else 10)
            jump = 0
            s = b.tremor[k] * _AR_GAIN
            tx = _AR * tx + gauss(0.0, s)
            ty = _AR * ty + gauss(0.0, s)
            tz = _AR * tz + gauss(0.0, s)
            wx, wy, wz = tx + rx[k], ty + ry[k], tz + rz[k]
            pitch += wy * _DT * _DEG - (pitch - _REST_PITCH) * _RECENTER
            roll += wx * _DT * _DEG - (roll - _REST_ROLL) * _RECENTER
            cp = cos(pitch)
            values = (
                (-sin(pitch) + lx[k]) * ac + gauss(0.0, _ACCEL_NOISE),
                (cp * sin(roll) + ly[k]) * ac + gauss(0.0, _ACCEL_NOISE),
                (cp * cos(roll) + lz[k]) * ac + gauss(0.0, _ACCEL_NOISE),
                wx * gc + gauss(0.0, _GYRO_NOISE),
                wy * gc + gauss(0.0, _GYRO_NOISE),
                wz * gc + gauss(0.0, _GYRO_NOISE),
            )
            clipped = False
            for col, v in zip(cols, values):
                c = math.floor(v + 0.5)
                if c >= _I16_MAX:
                    c, clipped = _I16_MAX, True
                elif c <= _I16_MIN:
                    c, clipped = _I16_MIN, True
                col.append(c)
            saturated += clipped
            self.timestamps.append(t)
        self.trigger.extend(b.trigger[:count])
        self.saturated += saturated
        self.t, self.jump, self.pitch, self.roll = t, b.jump_ms, pitch, roll
        self.tremor = (tx, ty, tz)


def generate_with_truth(
    seconds: float, seed: int = 0, *, params: Optional[SynthParams] = None
) -> Tuple[Log, Truth]:
    """A synthetic session and the ground truth of what happened in it.

    Args:
        seconds: recording time; the log has ``round(seconds * 100)`` samples.
        seed: seeds ``random.Random``; same arguments, same log.
        params: the motion model's knobs (defaults: :class:`SynthParams`).

    Returns:
        ``(log, truth)``; truth indices are sample indices into ``log``.
    """
    n = int(round(seconds * SAMPLE_RATE_HZ))
    if n < 1:
        raise ValueError(f"seconds must give at least one sample, got {seconds}")
    p = params or SynthParams()
    rng = random.Random(seed)
    sched = _Scheduler(rng, p)
    sensor = _Sensor(rng, sched.randint(*p.boot_ms))
    truth = Truth()
    i = 0
    while i < n:
        for b in sched.next_blocks():
            for name, offset in b.events:
                if i + offset < n:
                    getattr(truth, name).append(i + offset)
            sensor.render(b, min(b.length, n - i))
            i += b.length
            if i >= n:
                break
    truth.saturated_samples = sensor.saturated
    log = from_columns(
        sensor.timestamps, sensor.columns, sensor.trigger, source=f"<synth seconds={seconds} seed={seed}>"
    )
    return log, truth


def generate(seconds: float, seed: int = 0, *, params: Optional[SynthParams] = None, **overrides: object) -> Log:
    """A synthetic session of ``round(seconds * 100)`` samples (see the module docstring for the model).

    Keyword ``overrides`` replace fields of ``params``, e.g.
    ``generate(60, seed=3, shots_per_minute=12)``.
    """
    return generate_with_truth(seconds, seed, params=replace(params or SynthParams(), **overrides))[0]
