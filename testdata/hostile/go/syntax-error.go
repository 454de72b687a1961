package a

func start() error {
	if !mtls {
		log.Fatal("mtls required"
	}
	x := := 3
	return nil
}
