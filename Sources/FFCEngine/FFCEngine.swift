// FFCEngine: tensors and BLAS, layers, backbones, optimiser, data, FFC head, trainer,
// checkpoints, evaluation and control. One folder per concern; nothing here knows ncurses.
