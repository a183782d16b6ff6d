# What every STM32 port links besides its own board.cc (its facts): the
# shared bring-up and board API (stm32_board.cc), the drivers, the DMA2 engine.
set(TINYOPS_STM32_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/stm32_board.cc
  ${CMAKE_CURRENT_LIST_DIR}/stm32_drivers.cc
  ${CMAKE_CURRENT_LIST_DIR}/dma2.cc)
