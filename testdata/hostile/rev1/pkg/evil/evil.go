package evil

import "log"

// Banner writes </script><script>alert("comment")</script> into the page <!-- -->.
const Banner = "</script><script>alert(1)</script>"

/* Block comment with <style>body{display:none}</style> & </pre></table> */
var raw = `<img src=x onerror="alert('raw')">`

func check(cfg Config) {
	if !cfg.MTLSRequired {
		log.Fatalf("mtls <required> & \"enforced\"")
	}
}

func banner() string {
	return Banner + raw + "&amp;"
}

type Config struct{ MTLSRequired bool }
