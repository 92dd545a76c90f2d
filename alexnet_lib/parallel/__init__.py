"""Training on several processes: starting them with timeouts, letting them meet and exchanging
tensors with ``torch.distributed`` (:mod:`.distributed`); AlexNet split across two "GPUs" as in
2012 (model parallel) and replicated as today (data parallel), each proved to compute what one
process computes, with the bytes each scheme moves (:mod:`.two_gpu`); and a recipe trained with
``DistributedDataParallel`` (:mod:`.ddp`). Import each module by name; the package itself
imports nothing.
"""
