package suite

// The MCU workload (issue 24): an app of ours for a real microcontroller,
// an STM32F746 (Cortex-M7, FreeRTOS, ST's HAL, mbedTLS, SPIFFS), built by
// the real core's platforms/stm32/Makefile.build in the SDK image its
// sdk.version names (scripts/stm32-image.sh makes it).
const (
	// MCUAppLogLine is what the MCU app's main.c logs at init.
	MCUAppLogLine = "mcu app up"
	// MCUFSFile is the file the app puts in the device's file system, and
	// MCUFSContent its content.
	MCUFSFile    = "fs/mcu_hello.txt"
	MCUFSContent = "hello from the STM32F746 file system\n"
	// MCUGreeting is the default of the app's config schema entry
	// mcutest.greeting.
	MCUGreeting = "greetings from mcutest"
	// MCUHeader is the app's header, included by both of its sources.
	MCUHeader = "src/mcu_app.h"
)

// MCUCflagsExtra are the flags gcc 12 (Debian's arm-none-eabi-gcc) needs
// to build the core, which builds with -Werror: it warns where the stock
// image's gcc 6.3 did not (../shared/mcu/README.md). Passed with
// --cflags-extra, never patched into the core.
const MCUCflagsExtra = "-Wno-error=use-after-free -Wno-error=array-bounds -Wno-error=unused-parameter " +
	"-Wno-error=attributes -Wno-error=address-of-packed-member -Wno-error=array-parameter"

// MCUApp is the MCU workload's app (also e2e/mcu's): mos.yml with a config
// schema entry, two sources sharing a header, and one fs/ file.
var MCUApp = map[string]string{
	"mos.yml": `author: mos tests
description: an STM32F746 app of ours
version: 1.0
manifest_version: 2017-05-18
platforms: [ stm32 ]
sources: [ src ]
filesystem: [ fs ]
config_schema:
  - ["mcutest", "o", {title: "the MCU test app's settings"}]
  - ["mcutest.greeting", "s", "` + MCUGreeting + `", {title: "what the app logs at init"}]
libs:
  - location: https://github.com/mongoose-os-libs/vfs-fs-spiffs
build_vars:
  DEVICE: stm32f746zg
  FREERTOS_PORT: GCC/ARM_CM7/r0p1
  HSE_VALUE: 8000000
`,
	MCUHeader: `#pragma once

#define MCU_APP_BLINKS 3

int mcu_app_blinks(void);
`,
	"src/main.c": `#include "mgos.h"

#include "mcu_app.h"

enum mgos_app_init_result mgos_app_init(void) {
  LOG(LL_INFO, ("` + MCUAppLogLine + `: %s, %d blinks", mgos_sys_config_get_mcutest_greeting(),
                mcu_app_blinks()));
  return MGOS_APP_INIT_SUCCESS;
}
`,
	"src/blink.c": `#include "mcu_app.h"

int mcu_app_blinks(void) {
  return MCU_APP_BLINKS;
}
`,
	MCUFSFile: MCUFSContent,
}

// MCUFlags are the flags a build of the MCU app needs: the stm32 platform
// of the real core, its libs and mbedTLS module in real (a copy of
// ../shared/real), and the gcc 12 flags. The STM32Cube tree and the file
// system tools are the SDK image's.
func MCUFlags(real string) []string { return coreFlags(real, "stm32", MCUCflagsExtra) }
