package a

func start() {
	if !mtls {
		log.Fatal("café ÿ")
	}
}
