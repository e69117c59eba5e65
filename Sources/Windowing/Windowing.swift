// The Windowing module. See README.md for where it sits in the pipeline.
