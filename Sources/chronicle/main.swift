import Hummingbird; import GRDB; import ArgumentParser; import ServiceLifecycle; print("x")
