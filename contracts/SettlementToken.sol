// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AdminRoles} from "AdminRoles.sol";

/// @title SettlementToken
/// @notice ERC-20 token with 6 decimals in which every CCEI market payment is made.
///         Amounts are integer micro-units: 1 token = 1_000_000 units.
/// @dev OpenZeppelin's `ERC20`; only holders of `MINTER_ROLE` mint; the admin grants that role.
contract SettlementToken is ERC20, AdminRoles {
    /// @notice The role allowed to mint.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param admin The first admin.
    constructor(address admin) ERC20("CCEI Settlement Token", "CCEI") AdminRoles(admin) {}

    /// @notice Six decimals: amounts are micro-tokens.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `value` micro-tokens to `to`. Emits `Transfer` from the zero address.
    /// @param to The recipient.
    /// @param value Micro-tokens.
    function mint(address to, uint256 value) external onlyRole(MINTER_ROLE) {
        _mint(to, value);
    }
}
