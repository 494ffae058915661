"""Whether MuJoCo can draw frames on this machine, for the tests of the mujoco and metaworld ids' frames.

tests/conftest.py sets ``MUJOCO_GL=osmesa``; OSMesa is a system library (Debian: ``libosmesa6``) that
``.ci/run`` installs. Without it the frame tests are skipped, unless ``RL2_REQUIRE_MUJOCO_FRAMES=1`` (set by
``.ci/run``) makes them run and fail, so that CI never skips them silently.
"""

from __future__ import annotations

import ctypes.util
import os

import pytest

MUJOCO_FRAMES = os.environ.get("MUJOCO_GL") != "osmesa" or ctypes.util.find_library("OSMesa") is not None
REQUIRED = os.environ.get("RL2_REQUIRE_MUJOCO_FRAMES") == "1"
#: the ids whose frames MuJoCo draws
MUJOCO_IDS = ("RL2HalfCheetahVel-v0", "RL2HalfCheetahDir-v0", "RL2AntDir-v0", "RL2AntGoal-v0", "RL2MetaWorld-v0")

requires_mujoco_frames = pytest.mark.skipif(
    not (MUJOCO_FRAMES or REQUIRED),
    reason="MuJoCo frames need OSMesa here (Debian: apt-get install libosmesa6); .ci/run installs it",
)


def frames_param(env_id: str) -> object:
    """``env_id`` as a pytest parameter, skipped like :data:`requires_mujoco_frames` when MuJoCo draws its frames."""
    return pytest.param(env_id, marks=requires_mujoco_frames) if env_id in MUJOCO_IDS else env_id
