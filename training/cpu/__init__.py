"""Training on a machine without an accelerator, through veRL's own extension points.

veRL 0.9.1 knows CUDA, NPU and ROCm devices and vLLM / SGLang / TRT-LLM rollout servers. This
package adds, without editing veRL:

* :mod:`training.cpu.platform`: a ``cpu`` platform (``PlatformRegistry``), selected by
  ``VERL_PLATFORM=cpu``;
* :mod:`training.cpu.rollout_server`: an in-process transformers rollout server serving the
  token-in/token-out ``generate`` the agent loop calls (batched turns and prefix reuse in
  :mod:`training.cpu.turn_generation` and :mod:`training.cpu.prefix_cache`), and
  :mod:`training.cpu.rollout_replica`: its replica (``RolloutReplicaRegistry``,
  ``rollout.name: hf_cpu``) and the worker's handle that syncs the actor's weights into it
  every step;
* :mod:`training.cpu.worker`: veRL's ``ActorRolloutRefWorker`` with the few device assumptions
  that a CPU breaks adjusted (swapped in by the trainer, as veRL's own async trainer swaps its
  worker class);
* :mod:`training.cpu.plugin`: the module ``VERL_USE_EXTERNAL_MODULES`` imports in every veRL
  process to register the pieces above.

``python training/main_ppo.py --config-name visionthink_cpu`` wires all of it
(``training/config/visionthink_cpu.yaml``).
"""
