"""The jobs: the main pipeline (tune, evaluate, production fit), the two-stage ranker's
training, rolling-origin folds, publication and the online simulation. They sit above every
other package of the library and below the CLI and the server."""
