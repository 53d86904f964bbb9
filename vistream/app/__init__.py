"""deepstream-app compatibility: config parsing (:mod:`vistream.app.config`) and the app runner."""
