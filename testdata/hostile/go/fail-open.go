package a

func start() {
	if !mtls {
		log.Printf("mtls not required")
	}
}
