package e2e

import (
	"context"
	"os"

	"github.com/redis/go-redis/v9"
)

// go-redis logs every failed dial to stderr; while a test keeps
// redis-server dead on purpose those lines land in the middle of benchmark
// result lines (go test merges the streams) and cut their names off.
// MESHBOT_E2E_LOG keeps them.
func init() {
	if os.Getenv("MESHBOT_E2E_LOG") == "" {
		redis.SetLogger(discardRedisLog{})
	}
}

type discardRedisLog struct{}

func (discardRedisLog) Printf(context.Context, string, ...any) {}
