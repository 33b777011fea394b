"""Bounds on user-given sizes, shared by the API and the CLI (no heavy imports)."""
MAX_SAMPLES = 1024  # videos drawn by one predict/sample call
MIN_FPS = 0.1  # playback and sampling rates: one frame per 10 s at the slowest
MAX_FPS = 240.0  # playback rate of written videos
MAX_CLIP_SIZE = 1024  # frame side of prepared clips
MAX_CLIP_FRAMES = 1024  # frames per prepared clip
MAX_WORKERS = 256  # data loader worker processes
RENDER_SIZE = 512  # default long side of a motion model's video (photos smaller than this keep their size)
MAX_RENDER_SIZE = 4096  # largest long side a motion model renders
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # largest photo file the demo page accepts (50 MB)
MAX_DEMO_FUTURES = 8  # futures one press of the demo's button draws
MAX_CONTEXT_FRAMES = 512  # frames an image-mode model conditions on (model.context_frames; below its frames)
MAX_VIDEO_FRAMES = 1024  # frames one predict call writes (longer than the model's: rolled out autoregressively)
MAX_NOISE_SCALE = 100.0  # largest standard deviation of the noise a model is asked to draw (model.noise_scale)
