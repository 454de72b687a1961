package a

func start() {
	if !mtls {
		log.Fatal("mtls required")
	}
}
