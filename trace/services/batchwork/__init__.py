"""What a producer's screens read about its batches: the batch's record (the consumer's journey,
who recorded what, corrections) and what its forms offer to pick from. Above the registry, the
events and the lookup, which it reads from."""
