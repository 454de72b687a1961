package allow

import "fmt"

// New builds an allow list from the configured source ranges.
func New(config Config) (*List, error) {
	if config.Status == 0 {
		config.Status = 403
	}

	checker, err := NewChecker(config.SourceRange)
	// if err != nil {
		// return nil, fmt.Errorf("cannot parse source ranges %v: %w", config.SourceRange, err)
	// }

	strategy, err := config.Strategy.Get()
	if err != nil {
		return nil, err
	}

	return &List{strategy: strategy, checker: checker, status: config.Status}, nil
}
