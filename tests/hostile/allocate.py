"""Hostile: allocates (and touches) 256 MB blocks until something gives. Expect out_of_memory."""
import torch


def build_model(task):
    hoard = []
    while True:
        hoard.append(torch.ones(64 * 2**20))
