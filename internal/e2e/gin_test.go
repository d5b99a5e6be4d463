package e2e

import "github.com/gin-gonic/gin"

// The routers under test run in gin's release mode, as `meshbot serve` runs
// them; debug mode's route banner would bury the benchmarks' output.
func init() { gin.SetMode(gin.ReleaseMode) }
