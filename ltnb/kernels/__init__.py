"""The papers' maths as pure tensor code: losses, margins, angular predictions, GCL, LGLA, logit adjustment,
samplers, whitening, the ResNet-32 and its experts, and the metrics (each unit-tested on small hand-computed cases)."""
